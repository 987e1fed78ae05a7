#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_cluster_info
short_description: Read a DigitalOcean managed database cluster's connection details and CA certificate
version_added: 0.1.0
description:
  - Reads one cluster, by O(id) or by O(name) (narrowed by O(engine) and O(region)), and returns what an
    application needs to connect to it safely, namely the public and private connection details, every connection
    pool with its own connection details, the CA certificate (PEM) that signs the cluster's server
    certificate, and the trusted sources.
  - Also returns connection strings that verify the server (V(sslmode=verify-full) for PostgreSQL,
    V(ssl-mode=VERIFY_IDENTITY) for MySQL), for the cluster and for each pool; with O(ca_path) they name
    the file the CA certificate is written to on the application host.
  - Fails naming the cluster when it does not exist. Reads only; safe in check mode.
  - The result holds passwords and connection URIs; register it with C(no_log) when the output is logged.
options:
  id:
    description: The cluster's id (UUID).
    type: str
  name:
    description: The cluster's name.
    type: str
  engine:
    description: Only a cluster of this engine.
    type: str
    choices: [pg, mysql, valkey]
  region:
    description: Only a cluster in this region.
    type: str
  ca_path:
    description:
      - Where the application host keeps the CA certificate (for example V(/etc/ssl/certs/freshtrack-db-ca.pem));
        added to the verifying connection strings as C(sslrootcert) (PostgreSQL) or C(ssl-ca) (MySQL).
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: Connection details of FreshTrack's database
  seaworthy.digitalocean.database_cluster_info:
    name: freshtrack-production-db
    ca_path: /opt/freshtrack-pro/secrets/db-ca.pem
  register: db
  no_log: true

- name: The CA certificate on the application host
  ansible.builtin.copy:
    content: "{{ db.ca_certificate }}"
    dest: /opt/freshtrack-pro/secrets/db-ca.pem
    mode: "0644"

- name: The application connects through the transaction pool, verifying the server
  ansible.builtin.copy:
    content: "{{ db.pool_uris['freshtrack-pool'].private }}"
    dest: /opt/freshtrack-pro/secrets/database-url
    mode: "0600"
  no_log: true
"""

RETURN = r"""
database:
  description: The cluster as the API returns it.
  returned: always
  type: dict
connection:
  description: Public connection details of the primary user (C(uri), C(host), C(port), C(user), C(password), C(database), C(ssl)).
  returned: always
  type: dict
private_connection:
  description: The same over the cluster's VPC.
  returned: always
  type: dict
pools:
  description: The connection pools as the API returns them, each with its C(connection) and C(private_connection) (PostgreSQL only).
  returned: always
  type: list
  elements: dict
ca_certificate:
  description: The PEM CA certificate that signs the cluster's server certificate.
  returned: always
  type: str
  sample: "-----BEGIN CERTIFICATE-----\nMIIEQTCCAqmgAwIBAgIUEFYY...\n-----END CERTIFICATE-----\n"
trusted_sources:
  description: The cluster's trusted sources (firewall rules) as the API returns them; empty means every source is admitted.
  returned: always
  type: list
  elements: dict
uris:
  description: Connection strings of the primary user that verify the server certificate and host name.
  returned: always
  type: dict
  contains:
    public:
      description: Over the public network.
      type: str
    private:
      description: Over the VPC.
      type: str
  sample:
    private: postgresql://doadmin:secret@private-db.example.ondigitalocean.com:25060/defaultdb?sslmode=verify-full
pool_uris:
  description: Per pool name, connection strings through the pooler that verify the server (C(public), C(private)).
  returned: always
  type: dict
  sample:
    freshtrack-pool:
      private: postgresql://freshtrack:secret@private-db.example.ondigitalocean.com:25061/freshtrack-pool?sslmode=verify-full
"""

import base64
import binascii

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._databases import (
    POOL_ENGINES,
    find_cluster,
    list_clusters,
    verified_uri,
)


def uris_of(item, engine, ca_path):
    return {
        "public": verified_uri((item.get("connection") or {}).get("uri"), engine, ca_path),
        "private": verified_uri((item.get("private_connection") or {}).get("uri"), engine, ca_path),
    }


class DatabaseClusterInfoModule(DOModule):
    resource_key = "database"

    def __init__(self):
        super().__init__(
            {
                "id": {"type": "str"},
                "name": {"type": "str"},
                "engine": {"type": "str", "choices": ["pg", "mysql", "valkey"]},
                "region": {"type": "str"},
                "ca_path": {"type": "str"},
            },
            required_one_of=[("id", "name")],
        )

    def run(self):
        ref = self.params["id"] or self.params["name"]
        cluster = find_cluster(
            self.module, list_clusters(self.client), ref, self.params["engine"], self.params["region"]
        )
        if cluster is None:
            self.module.fail_json(msg=f"database cluster {ref!r} not found")
        cluster_id, engine, ca_path = cluster["id"], cluster["engine"], self.params["ca_path"]
        encoded = self.client.request("databases.get_ca", cluster_id)["ca"]["certificate"]
        try:
            ca_certificate = base64.b64decode(encoded).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            ca_certificate = encoded  # already PEM
        pools = []
        if engine in POOL_ENGINES:
            pools = self.client.request("databases.list_connection_pools", cluster_id).get("pools") or []
        rules = self.client.request("databases.list_firewall_rules", cluster_id).get("rules") or []
        self.exit(
            cluster,
            connection=cluster.get("connection") or {},
            private_connection=cluster.get("private_connection") or {},
            pools=pools,
            ca_certificate=ca_certificate,
            trusted_sources=rules,
            uris=uris_of(cluster, engine, ca_path),
            pool_uris={pool["name"]: uris_of(pool, engine, ca_path) for pool in pools},
        )


def main():
    DatabaseClusterInfoModule().execute()


if __name__ == "__main__":
    main()
