#!/bin/bash
# A small stand-in for the official mariadb image's entrypoint: the same variables
# (MARIADB_USER, MARIADB_PASSWORD, MARIADB_DATABASE, MARIADB_ROOT_PASSWORD) and data
# directory (the package's own is removed from the image), initialised on first start only; any other command runs as given.
set -euo pipefail
if [ "${1:-}" = mariadbd ]; then
  shift
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  chown mysql:mysql /var/lib/mysql
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
      --auth-root-authentication-method=normal >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    init=$!
    for _ in $(seq 1 120); do
      mariadb-admin --no-defaults --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
      sleep 0.5
    done
    mariadb --no-defaults --socket=/run/mysqld/init.sock -uroot <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD:?}';
CREATE USER 'root'@'%' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE:?}\`;
CREATE USER '${MARIADB_USER:?}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD:?}';
GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'%';
FLUSH PRIVILEGES;
SQL
    kill "$init"
    wait "$init" || true
  fi
  exec mariadbd --user=mysql --bind-address=0.0.0.0 "$@"
fi
exec "$@"
