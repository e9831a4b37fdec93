"""demo_peer.py — the demo's second province (安徽), for tools/demo.py.

Anhui's hub is set up with the national person key Qinghai's hub holds
(the same key at every province's hub; no county holds it), each hub
enrols the other as a peer, and at every pass each one fetches and audits
the other's repository before it trusts it. A driver admitted in Qinghai
then applies in Anhui: Anhui's hub refuses him `duplicate_province`, naming
the province and union holding him, and its county is told so at sync.
Then he moves for work: 城中区 offers his record to 瑶海区 across the
provinces; Anhui's hub takes the offer in from its audited copy of
Qinghai's registry, 瑶海区 accepts, and Qinghai's hub ends the old record
`transferred` from its copy of Anhui's: one record, its join date kept.
"""

import os
import re
import sqlite3


def second_province(work, huiji, step, start_daemon, qh_hub, qh_key, qh_url, fakes):
    """Run the two-province part of the demo; returns the daemon it
    started (the caller stops it)."""
    ah_hub = os.path.join(work, "ah-hub")
    step("A second province, 安徽省总工会: its hub holds the same national person key, its own tree and county")
    out = huiji("hub", "init", "--dir", ah_hub, "--node", "ah-hub", "--union", "ah", "--union-name", "安徽省总工会",
                "--region", "34", "--person-key", os.path.join(qh_hub, "person.key"), quiet=True).stdout
    ah_key = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
    huiji("org", "create", "--dir", ah_hub, "--id", "ah-hf", "--name", "合肥市总工会", "--kind", "city",
          "--parent", "ah", "--region", "3401", quiet=True)
    huiji("org", "create", "--dir", ah_hub, "--id", "ah-hf-yh", "--name", "瑶海区总工会", "--kind", "county",
          "--parent", "ah-hf", "--region", "340102", quiet=True)
    daemon, port = start_daemon(ah_hub)
    ah_url = "git://127.0.0.1:%d/hub.git" % port
    yh = os.path.join(work, "hf-yh")
    out = huiji("init", "--dir", yh, "--node", "hf-yh", "--union", "ah-hf-yh", "--hub", ah_url, "--hub-key", ah_key,
                quiet=True).stdout
    pk = [l.split()[-1] for l in out.splitlines() if l.startswith("public key")][0]
    huiji("node", "enroll", "--dir", ah_hub, "--node", "hf-yh", "--pubkey", pk, "--union", "ah-hf-yh", quiet=True)
    huiji("sync", "--dir", yh, quiet=True)

    step("The two hubs enrol each other as peers; each pass fetches the other's repository and audits it")
    huiji("hub", "peer", "--dir", qh_hub, "--province", "ah", "--hub-node", "ah-hub", "--hub-key", ah_key,
          "--url", ah_url, "--name", "安徽省总工会")
    huiji("hub", "peer", "--dir", ah_hub, "--province", "qh", "--hub-node", "qh-hub", "--hub-key", qh_key,
          "--url", qh_url, "--name", "青海省总工会")

    step("A driver admitted in 城中区 (Qinghai) applies again in 瑶海区 (Anhui): refused, the holder named")
    cz = os.path.join(work, "xn-cz")
    p = fakes.person(region="630103")
    out = huiji("member", "apply", "--dir", cz, "--name", p.name, "--id-number", p.id_number, "--phone", p.phone,
                "--group", "truck_driver", "--channel", "mobile_window", "--platform", "yunmanman",
                "--on", "2026-11-25", "--approve", quiet=True).stdout
    member = re.search(r"\b(xn-cz:\d+:\d+)\b", out).group(1)
    huiji("sync", "--dir", cz, quiet=True)
    huiji("hub", "run", "--dir", qh_hub, "--once", quiet=True)
    huiji("member", "apply", "--dir", yh, "--name", p.name, "--id-number", p.id_number, "--phone", p.phone,
          "--group", "truck_driver", "--channel", "platform_app", "--platform", "yunmanman", "--on", "2026-11-28")
    huiji("sync", "--dir", yh, quiet=True)
    huiji("hub", "run", "--dir", ah_hub, "--once")
    huiji("sync", "--dir", yh, check=False)
    huiji("hub", "peers", "--dir", ah_hub)

    step("He moves for work to 合肥: 城中区 offers his record to 瑶海区, the two hubs carry offer and answer")
    out = huiji("member", "transfer", "--dir", cz, "--member", member, "--to", "ah-hf-yh", "--to-province", "ah",
                "--on", "2026-11-29").stdout
    tid = out.split()[1]
    huiji("sync", "--dir", cz, quiet=True)
    huiji("hub", "run", "--dir", qh_hub, "--once", quiet=True)   # opens the offer; the record stays active here
    huiji("hub", "run", "--dir", ah_hub, "--once", quiet=True)   # follows qh, takes the offer in
    huiji("sync", "--dir", yh, quiet=True)
    huiji("member", "transfers", "--dir", yh)
    huiji("member", "accept", "--dir", yh, "--transfer", "qh/" + tid, "--on", "2026-11-30")
    huiji("sync", "--dir", yh, quiet=True)
    huiji("hub", "run", "--dir", ah_hub, "--once", quiet=True)   # the record starts in 瑶海区
    huiji("hub", "run", "--dir", qh_hub, "--once", quiet=True)   # follows ah, ends it here: transferred
    huiji("sync", "--dir", cz, quiet=True)
    db = sqlite3.connect(os.path.join(yh, "registry.db"))
    (new_id,), = db.execute("SELECT id FROM membership WHERE from_member = ?", ("qh/" + member,)).fetchall()
    db.close()
    huiji("member", "show", "--dir", yh, "--member", new_id)
    huiji("member", "show", "--dir", cz, "--member", member)
    huiji("audit", ah_url, "--hub-key", ah_key)
    huiji("audit", qh_url, "--hub-key", qh_key, quiet=True)
    return daemon
