#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: spaces_bucket
short_description: Create, configure and delete DigitalOcean Spaces buckets
version_added: 0.1.0
description:
  - Makes a Spaces (S3-compatible) bucket exist in a region with the declared canned ACL, CORS rules,
    lifecycle rules and versioning, through the region's S3 endpoint with a Spaces access key pair
    (see M(seaworthy.digitalocean.spaces_key)); the DigitalOcean API token is not used.
  - The bucket name is checked against S3's naming rules before any call.
  - CORS rules are compared in order (S3 applies the first rule that matches) with the origins, methods and
    headers inside a rule compared as sets; lifecycle rules are compared as a set keyed by their id. Each
    configuration is written only when it differs, and an empty list removes it.
  - Versioning, once enabled, can only be suspended (V(versioning=false)), as S3 defines it.
  - Deleting a bucket that still holds objects fails with S3's message.
options:
  name:
    description: The bucket's name (3 to 63 lowercase letters, digits, V(.) and V(-)).
    type: str
    required: true
  region:
    description: The Spaces region (V(nyc3), V(sgp1), ...).
    type: str
    required: true
  state:
    description: Whether the bucket should exist.
    type: str
    choices: [present, absent]
    default: present
  endpoint:
    description:
      - The S3 endpoint; E(DIGITALOCEAN_SPACES_ENDPOINT) when not given, else C(https://{region}.digitaloceanspaces.com).
        C({region}) in the value is replaced by O(region).
    type: str
  access_key:
    description: Spaces access key id; E(SPACES_ACCESS_KEY_ID) (or E(AWS_ACCESS_KEY_ID)) when not given.
    type: str
    aliases: [access_key_id]
  secret_key:
    description: Spaces secret key; E(SPACES_SECRET_ACCESS_KEY) (or E(AWS_SECRET_ACCESS_KEY)) when not given.
    type: str
    aliases: [secret_access_key]
  acl:
    description: Canned ACL; kept as it is when omitted (V(private) at creation).
    type: str
    choices: [private, public-read]
  cors:
    description: CORS rules, in the order S3 should try them; an empty list removes them. Kept as they are when omitted.
    type: list
    elements: dict
    suboptions:
      id:
        description: An optional name for the rule.
        type: str
      allowed_origins:
        description: Origins allowed (V(https://app.example.com), V(*)).
        type: list
        elements: str
        required: true
      allowed_methods:
        description: HTTP methods allowed.
        type: list
        elements: str
        required: true
        choices: [GET, PUT, POST, DELETE, HEAD]
      allowed_headers:
        description: Request headers allowed in a preflight request.
        type: list
        elements: str
      expose_headers:
        description: Response headers browsers may read.
        type: list
        elements: str
      max_age_seconds:
        description: How long browsers may cache the preflight answer.
        type: int
  lifecycle:
    description:
      - Lifecycle rules (for example expiring old backups under a prefix); an empty list removes them.
        Kept as they are when omitted.
    type: list
    elements: dict
    suboptions:
      id:
        description: The rule's id, unique in the bucket; the prefix (or V(whole-bucket)) when omitted.
        type: str
      prefix:
        description: Objects whose key starts with this; every object when empty.
        type: str
        default: ""
      enabled:
        description: Whether the rule applies.
        type: bool
        default: true
      expiration_days:
        description: Delete objects this many days after their creation.
        type: int
      abort_incomplete_multipart_upload_days:
        description: Abort multipart uploads not completed this many days after they started.
        type: int
  versioning:
    description: Enable (V(true)) or suspend (V(false)) object versioning; kept as it is when omitted.
    type: bool
  token:
    description: Ignored (Spaces uses access keys); accepted so that C(module_defaults) for the C(all) group reach this module.
    type: str
    aliases: [api_token, oauth_token]
  api_url:
    description: Ignored, for the same reason as O(token).
    type: str
  validate_certs:
    description: Verify the endpoint's TLS certificate. Extra CAs come from E(AWS_CA_BUNDLE) or E(REQUESTS_CA_BUNDLE).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a connection or an answer.
    type: int
    default: 30
extends_documentation_fragment:
  - seaworthy.digitalocean.common.attributes
requirements:
  - boto3
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: FreshTrack's media bucket, readable by browsers of the application, backups expiring
  seaworthy.digitalocean.spaces_bucket:
    name: freshtrack-media
    region: nyc3
    acl: private
    cors:
      - allowed_origins: [https://freshtrack.example.com]
        allowed_methods: [GET, PUT]
        allowed_headers: ["*"]
        max_age_seconds: 3000
    lifecycle:
      - id: expire-backups
        prefix: backups/
        expiration_days: 30
      - id: abort-uploads
        abort_incomplete_multipart_upload_days: 2
    versioning: true
  environment:
    SPACES_ACCESS_KEY_ID: "{{ vault_spaces_access_key }}"
    SPACES_SECRET_ACCESS_KEY: "{{ vault_spaces_secret_key }}"
"""

RETURN = r"""
bucket:
  description: The bucket as it is after the run, in the module's option format; empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The bucket's name.
      type: str
    region:
      description: Its region.
      type: str
    origin:
      description: Its host name, the origin of a M(seaworthy.digitalocean.cdn_endpoint).
      type: str
      sample: freshtrack-media.nyc3.digitaloceanspaces.com
    acl:
      description: The canned ACL the bucket's grants amount to (V(private) or V(public-read)).
      type: str
    cors:
      description: The CORS rules.
      type: list
      elements: dict
    lifecycle:
      description: The lifecycle rules.
      type: list
      elements: dict
    versioning:
      description: V(Enabled), V(Suspended) or V(Disabled) (never enabled).
      type: str
"""

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._spaces import (
    BotoCoreError,
    ClientError,
    SpacesModule,
    bucket_name_problem,
    error_code,
    failure_of,
)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
CORS_KEYS = (
    ("id", "ID"),
    ("allowed_origins", "AllowedOrigins"),
    ("allowed_methods", "AllowedMethods"),
    ("allowed_headers", "AllowedHeaders"),
    ("expose_headers", "ExposeHeaders"),
    ("max_age_seconds", "MaxAgeSeconds"),
)


# -- CORS: option format <-> S3 format, one canonical form ------------------------------
def cors_rule(s3_rule):
    """An S3 CORS rule in option format, lists sorted (S3 treats them as sets), empty fields dropped."""
    rule = {}
    for option, key in CORS_KEYS:
        value = s3_rule.get(key)
        if isinstance(value, list):
            value = sorted(set(value))
        if value not in (None, [], ""):
            rule[option] = value
    return rule


def cors_to_s3(rule):
    return {key: rule[option] for option, key in CORS_KEYS if option in rule}


# -- lifecycle -----------------------------------------------------------------------------
def lifecycle_rule(s3_rule):
    """An S3 lifecycle rule in option format."""
    prefix = s3_rule.get("Prefix")
    if prefix is None:
        prefix = (s3_rule.get("Filter") or {}).get("Prefix") or ""
    rule = {"id": s3_rule.get("ID") or "", "prefix": prefix, "enabled": s3_rule.get("Status") == "Enabled"}
    expiration = s3_rule.get("Expiration") or {}
    if expiration.get("Days") is not None:
        rule["expiration_days"] = expiration["Days"]
    abort = s3_rule.get("AbortIncompleteMultipartUpload") or {}
    if abort.get("DaysAfterInitiation") is not None:
        rule["abort_incomplete_multipart_upload_days"] = abort["DaysAfterInitiation"]
    other = {
        k: v
        for k, v in s3_rule.items()
        if k not in ("ID", "Prefix", "Filter", "Status", "Expiration", "AbortIncompleteMultipartUpload")
    }
    if expiration and set(expiration) - {"Days"}:
        other["Expiration"] = expiration
    if other:
        rule["other"] = other  # actions this module does not manage: their presence is a difference
    return rule


def lifecycle_to_s3(rule):
    # Rule-level Prefix: the form Spaces documents (it does not take every Filter variant).
    s3_rule = {"ID": rule["id"], "Prefix": rule["prefix"], "Status": "Enabled" if rule["enabled"] else "Disabled"}
    if "expiration_days" in rule:
        s3_rule["Expiration"] = {"Days": rule["expiration_days"]}
    if "abort_incomplete_multipart_upload_days" in rule:
        s3_rule["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": rule["abort_incomplete_multipart_upload_days"]
        }
    return s3_rule


class SpacesBucketModule(SpacesModule):
    resource_key = "bucket"

    def __init__(self):
        super().__init__(
            {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "acl": {"type": "str", "choices": ["private", "public-read"]},
                "cors": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "id": {"type": "str"},
                        "allowed_origins": {"type": "list", "elements": "str", "required": True},
                        "allowed_methods": {
                            "type": "list",
                            "elements": "str",
                            "required": True,
                            "choices": ["GET", "PUT", "POST", "DELETE", "HEAD"],
                        },
                        "allowed_headers": {"type": "list", "elements": "str"},
                        "expose_headers": {"type": "list", "elements": "str"},
                        "max_age_seconds": {"type": "int"},
                    },
                },
                "lifecycle": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "id": {"type": "str"},
                        "prefix": {"type": "str", "default": ""},
                        "enabled": {"type": "bool", "default": True},
                        "expiration_days": {"type": "int"},
                        "abort_incomplete_multipart_upload_days": {"type": "int"},
                    },
                },
                "versioning": {"type": "bool"},
            }
        )
        self.name = self.params["name"]

    # -- what is asked ------------------------------------------------------------------------
    def wanted_cors(self):
        if self.params["cors"] is None:
            return None
        rules = []
        for index, rule in enumerate(self.params["cors"]):
            if not rule["allowed_origins"] or not rule["allowed_methods"]:
                self.module.fail_json(msg=f"cors[{index}]: allowed_origins and allowed_methods must not be empty")
            if rule["max_age_seconds"] is not None and rule["max_age_seconds"] < 0:
                self.module.fail_json(msg=f"cors[{index}]: max_age_seconds must not be negative")
            rules.append(cors_rule(cors_to_s3({k: v for k, v in rule.items() if v is not None})))
        return rules

    def wanted_lifecycle(self):
        if self.params["lifecycle"] is None:
            return None
        rules, ids = [], set()
        for index, rule in enumerate(self.params["lifecycle"]):
            prefix = rule["prefix"] or ""
            rule_id = rule["id"] or prefix or "whole-bucket"
            if rule_id in ids:
                self.module.fail_json(msg=f"lifecycle[{index}]: rule id {rule_id!r} is used twice")
            if len(rule_id) > 255:
                self.module.fail_json(msg=f"lifecycle[{index}]: rule id is longer than 255 characters")
            ids.add(rule_id)
            days = {
                k: rule[k] for k in ("expiration_days", "abort_incomplete_multipart_upload_days") if rule[k] is not None
            }
            if not days:
                self.module.fail_json(
                    msg=f"lifecycle[{index}] ({rule_id}): give expiration_days or abort_incomplete_multipart_upload_days"
                )
            for key, value in days.items():
                if value < 1:
                    self.module.fail_json(msg=f"lifecycle[{index}] ({rule_id}): {key} must be at least 1, got {value}")
            rules.append(dict({"id": rule_id, "prefix": prefix, "enabled": rule["enabled"]}, **days))
        return sorted(rules, key=lambda r: r["id"])

    # -- what is there ----------------------------------------------------------------------------
    def read(self):
        """The bucket in option format, or None when it does not exist."""
        doing = f"reading Spaces bucket {self.name} in {self.region}"
        try:
            self.s3.head_bucket(Bucket=self.name)
        except ClientError as err:
            if error_code(err) in ("404", "NoSuchBucket"):
                return None
            if error_code(err) in ("403", "AccessDenied"):
                self.module.fail_json(
                    msg=f"Spaces bucket {self.name} in {self.region} exists but this key may not use it "
                    "(another account's bucket, or a key without a grant for it)",
                    failure=failure_of(err),
                )
            self.fail(err, doing)
        except BotoCoreError as err:
            self.fail(err, doing)
        grants = self.call("get_bucket_acl", doing, Bucket=self.name).get("Grants") or []
        public = any(
            (g.get("Grantee") or {}).get("URI") == ALL_USERS and g.get("Permission") in ("READ", "FULL_CONTROL")
            for g in grants
        )
        cors = self.call("get_bucket_cors", doing, missing=("NoSuchCORSConfiguration",), Bucket=self.name)
        lifecycle = self.call(
            "get_bucket_lifecycle_configuration", doing, missing=("NoSuchLifecycleConfiguration",), Bucket=self.name
        )
        versioning = self.call("get_bucket_versioning", doing, Bucket=self.name) or {}
        return self.described(
            "public-read" if public else "private",
            [cors_rule(r) for r in (cors or {}).get("CORSRules") or []],
            sorted((lifecycle_rule(r) for r in (lifecycle or {}).get("Rules") or []), key=lambda r: r["id"]),
            versioning.get("Status") or "Disabled",
        )

    def described(self, acl, cors, lifecycle, versioning):
        return {
            "name": self.name,
            "region": self.region,
            "origin": f"{self.name}.{self.region}.digitaloceanspaces.com",
            "acl": acl,
            "cors": cors,
            "lifecycle": lifecycle,
            "versioning": versioning,
        }

    # -- main ----------------------------------------------------------------------------------
    def run(self):
        problem = bucket_name_problem(self.name)
        if problem:
            self.module.fail_json(msg=f"Spaces bucket name {self.name!r} is invalid: {problem}")
        cors, lifecycle = self.wanted_cors(), self.wanted_lifecycle()
        current = self.read()
        if self.params["state"] == "absent":
            self.diff(current, None)
            if current and not self.check_mode:
                self.call("delete_bucket", f"deleting Spaces bucket {self.name} in {self.region}", Bucket=self.name)
            return self.exit({})

        before = current or {}
        base = current or self.described(self.params["acl"] or "private", [], [], "Disabled")
        after = dict(base)
        if self.params["acl"]:
            after["acl"] = self.params["acl"]
        if cors is not None:
            after["cors"] = cors
        if lifecycle is not None:
            after["lifecycle"] = lifecycle
        versioning = self.params["versioning"]
        if versioning is True:
            after["versioning"] = "Enabled"
        elif versioning is False and base["versioning"] == "Enabled":
            after["versioning"] = "Suspended"
        self.diff(before, after)
        if self.check_mode or not self.changed:
            return self.exit(after)

        doing = f"{'creating' if current is None else 'updating'} Spaces bucket {self.name} in {self.region}"
        if current is None:
            self.create(doing)
        elif after["acl"] != base["acl"]:
            self.call("put_bucket_acl", doing, Bucket=self.name, ACL=after["acl"])
        if after["cors"] != base["cors"]:
            if after["cors"]:
                rules = [cors_to_s3(r) for r in after["cors"]]
                self.call("put_bucket_cors", doing, Bucket=self.name, CORSConfiguration={"CORSRules": rules})
            else:
                self.call("delete_bucket_cors", doing, Bucket=self.name)
        if after["lifecycle"] != base["lifecycle"]:
            if after["lifecycle"]:
                rules = [lifecycle_to_s3(r) for r in after["lifecycle"]]
                self.call(
                    "put_bucket_lifecycle_configuration",
                    doing,
                    Bucket=self.name,
                    LifecycleConfiguration={"Rules": rules},
                )
            else:
                self.call("delete_bucket_lifecycle", doing, Bucket=self.name)
        if after["versioning"] != base["versioning"]:
            self.call(
                "put_bucket_versioning",
                doing,
                Bucket=self.name,
                VersioningConfiguration={"Status": after["versioning"]},
            )
        return self.exit(self.read())

    def create(self, doing):
        kwargs = {"Bucket": self.name, "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        if self.params["acl"]:
            kwargs["ACL"] = self.params["acl"]
        # A create retried after a lost answer finds its own bucket: that is success, not a conflict.
        self.call("create_bucket", doing, missing=("BucketAlreadyOwnedByYou",), **kwargs)


def main():
    SpacesBucketModule().run()


if __name__ == "__main__":
    main()
