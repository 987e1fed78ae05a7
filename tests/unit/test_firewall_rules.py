"""Firewall rule normalisation and set differences (plugins/module_utils/_firewall_rules.py), no emulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "plugins/module_utils/_firewall_rules.py"
_spec = importlib.util.spec_from_file_location("_firewall_rules", PATH)
fr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fr)

ANY = ["0.0.0.0/0", "::/0"]


def inbound(protocol, ports=None, **sources):
    rule = {"protocol": protocol, "sources": sources}
    if ports is not None:
        rule["ports"] = ports
    return rule


@pytest.mark.parametrize(
    ("protocol", "ports", "expected"),
    [
        ("tcp", 22, "22"),
        ("tcp", "22", "22"),
        ("tcp", " 22 ", "22"),
        ("udp", "8000-9000", "8000-9000"),
        ("tcp", "all", "0"),
        ("tcp", "ALL", "0"),
        ("tcp", "0", "0"),
        ("tcp", 0, "0"),
        ("tcp", "1-65535", "0"),
        ("tcp", "443-443", "443"),
        ("icmp", None, "0"),
        ("icmp", "0", "0"),
        ("icmp", "all", "0"),
    ],
)
def test_ports_take_the_form_digitalocean_stores(protocol, ports, expected):
    assert fr.normal_ports(protocol, ports) == expected


@pytest.mark.parametrize(
    ("protocol", "ports", "problem"),
    [
        ("tcp", None, "tcp needs ports"),
        ("udp", "", "udp needs ports"),
        ("tcp", "ssh", "is not a port"),
        ("tcp", "22,80", "is not a port"),
        ("tcp", 65536, "outside 1-65535"),
        ("tcp", "9000-8000", "ends before it starts"),
        ("tcp", True, "must be a port"),
        ("icmp", 22, "icmp has no ports"),
        ("icmp", "8-9", "icmp has no ports"),
    ],
)
def test_bad_ports_are_refused(protocol, ports, problem):
    with pytest.raises(fr.RuleError, match=problem):
        fr.normal_ports(protocol, ports)


def test_equal_rules_have_equal_keys_whatever_their_spelling():
    api = {"protocol": "tcp", "ports": "0", "sources": {"addresses": ["::/0", "0.0.0.0/0"], "tags": ["web"]}}
    mine = fr.parse_rule(inbound("tcp", "all", addresses=["0.0.0.0/0", "::/0", "0.0.0.0/0"], tags=["web"]), "inbound")
    assert fr.key(api, "inbound") == fr.key(mine, "inbound")
    assert fr.key({"protocol": "icmp", "ports": "0", "sources": {"addresses": ["1.2.3.4"]}}, "inbound") == fr.key(
        fr.parse_rule(inbound("icmp", addresses=["1.2.3.4/32"]), "inbound"), "inbound"
    )
    # empty kinds are no kinds; ids compare as ids
    assert fr.key({"protocol": "tcp", "ports": "22", "sources": {"droplet_ids": [1, 2], "tags": []}}, "inbound") == (
        fr.key({"protocol": "tcp", "ports": "22", "sources": {"droplet_ids": [2, 1]}}, "inbound")
    )


def test_ipv4_anywhere_is_not_anywhere():
    v4 = fr.parse_rule(inbound("tcp", 22, addresses=["0.0.0.0/0"]), "inbound")
    both = fr.parse_rule(inbound("tcp", 22, addresses=ANY), "inbound")
    assert fr.key(v4, "inbound") != fr.key(both, "inbound")


def test_comma_separated_addresses_are_split():
    rule = fr.parse_rule(inbound("tcp", 22, addresses=["0.0.0.0/0, ::/0"]), "inbound")
    assert rule["sources"]["addresses"] == ANY


def test_parse_keeps_only_named_kinds_and_droplet_names_for_later():
    rule = fr.parse_rule(inbound("tcp", "80", addresses=["10.0.0.0/8"], droplets=["web-1", "7"], tags=None), "inbound")
    assert rule == {
        "protocol": "tcp",
        "ports": "80",
        "sources": {"addresses": ["10.0.0.0/8"], "droplets": ["web-1", "7"]},
    }
    resolved = fr.resolve_droplets([rule], "inbound", lambda ref: {"web-1": 11, "7": 7}[ref])
    assert resolved[0]["sources"] == {"addresses": ["10.0.0.0/8"], "droplet_ids": [11, 7]}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (inbound("sctp", 22, addresses=ANY), r"inbound_rules\[0\] \(sctp 22 from 0.0.0.0/0, ::/0\): protocol must be"),
        (inbound("tcp", "99999", addresses=ANY), r"inbound_rules\[0\] \(tcp 99999 .*outside 1-65535"),
        (inbound("icmp", 22, addresses=ANY), r"icmp has no ports"),
        (inbound("tcp", 22), r"sources names nothing"),
        ({"protocol": "tcp", "ports": 22}, r"sources is missing"),
        (inbound("tcp", 22, addresses=["10.0.0.300/8"]), r"'10.0.0.300/8' is not an IP address"),
        (inbound("tcp", 22, tags=["bad tag"]), r"not a valid tag name"),
        (inbound("tcp", 22, droplet_ids=["web"]), r"not a droplet id"),
    ],
)
def test_malformed_rules_name_the_rule(raw, problem):
    with pytest.raises(fr.RuleError, match=problem):
        fr.parse_rules([raw], "inbound")


def test_the_index_of_the_bad_rule_is_named():
    good = inbound("tcp", 22, addresses=ANY)
    with pytest.raises(fr.RuleError, match=r"^outbound_rules\[1\] \(udp to 0.0.0.0/0, ::/0\): udp needs ports"):
        fr.parse_rules(
            [
                {"protocol": "tcp", "ports": 22, "destinations": {"addresses": ANY}},
                {"protocol": "udp", "destinations": {"addresses": ANY}},
            ],
            "outbound",
        )
    assert len(fr.parse_rules([good, good], "inbound")) == 1, "duplicates collapse"


def test_plan_changes_only_what_differs_in_any_order():
    current = [
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ANY}},
        {"protocol": "tcp", "ports": "80", "sources": {"addresses": ANY}},
        {"protocol": "icmp", "ports": "0", "sources": {"addresses": ["10.0.0.0/8"]}},
    ]
    wanted = fr.parse_rules(
        [
            inbound("icmp", addresses=["10.0.0.0/8"]),
            inbound("tcp", "443", addresses=["::/0", "0.0.0.0/0"]),
            inbound("tcp", 22, addresses=list(reversed(ANY))),
        ],
        "inbound",
    )
    keep, add, remove = fr.plan(current, wanted, "inbound")
    assert [r["ports"] for r in keep] == ["22", "0"]
    assert add == [{"protocol": "tcp", "ports": "443", "sources": {"addresses": ["::/0", "0.0.0.0/0"]}}]
    assert remove == [current[1]], "removed exactly as the API returned it"
    assert fr.plan(current, fr.parse_rules(list(reversed(current)), "inbound"), "inbound")[1:] == ([], [])


def test_plan_sends_back_api_rules_without_empty_kinds_and_ignores_duplicates():
    current = [
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.4"], "tags": [], "droplet_ids": None}},
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.4"]}},
    ]
    _keep, add, remove = fr.plan(current, [], "inbound")
    assert add == [] and remove == [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["1.2.3.4"]}}]


def test_readable_lines():
    assert fr.describe(
        {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["::/0", "0.0.0.0/0"]}}, "inbound"
    ) == ("tcp 22 from 0.0.0.0/0, ::/0")
    assert (
        fr.describe({"protocol": "udp", "ports": "0", "destinations": {"tags": ["db"]}}, "outbound")
        == "udp all to tag:db"
    )
    assert fr.describe(
        {"protocol": "icmp", "ports": "0", "sources": {"droplet_ids": [3], "load_balancer_uids": ["u"]}}, "inbound"
    ) == ("icmp from droplet:3, load_balancer:u")
    assert fr.view(fr.DEFAULT_OUTBOUND, "outbound") == [
        "icmp to 0.0.0.0/0, ::/0",
        "tcp all to 0.0.0.0/0, ::/0",
        "udp all to 0.0.0.0/0, ::/0",
    ]


def test_view_reads_by_protocol_then_port():
    rules = [
        {"protocol": "tcp", "ports": p, "sources": {"addresses": ["10.0.0.0/8"]}}
        for p in ("8080", "443", "0", "22", "1000-2000")
    ]
    rules.append({"protocol": "icmp", "ports": "0", "sources": {"tags": ["x"]}})
    assert [line.split(" from")[0] for line in fr.view(rules, "inbound")] == [
        "icmp",
        "tcp all",
        "tcp 22",
        "tcp 443",
        "tcp 1000-2000",
        "tcp 8080",
    ]


@pytest.mark.parametrize(
    ("name", "ok"), [("web", True), ("web-1.prod", True), ("w", False), ("-web", False), ("we b", False), ("", False)]
)
def test_firewall_names(name, ok):
    assert fr.valid_name(name) is ok
