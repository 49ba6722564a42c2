#!/usr/bin/env python3
"""A recording stand-in for the 1Password CLI 2 (`op`), for the op backend's tests.

It implements exactly the subset of `op` the backend uses, as 1Password documents it
(developer.1password.com/docs/cli/reference/management-commands/item, .../cli/item-template-json,
.../service-accounts/use-with-1password-cli):

  op item list --vault V --tags T --categories C --format json
  op item get <id|title> --vault V [--reveal] --format json
  op item create - --vault V --tags T --format json      (item JSON template on stdin)
  op item edit <id|title> --vault V --format json        (edited item JSON on stdin)
  op item delete <id|title> --vault V

JSON shapes follow `op`'s: list rows {id, title, version, vault{id,name}, category, tags,
last_edited_by, created_at, updated_at}; items add `fields` [{id, type, label, value,
reference}]. `--tags t` also lists items tagged `t/<sub>`; archived items are never listed.
Errors go to stderr as `[ERROR] <date> <time> <message>` with exit code 1: a vault that is not
there, an item that is not there, not signed in, a service-account token that does not decode.

State lives under $OP_STAND_IN_DIR: vaults/<id>/name, vaults/<id>/items/<item id>.json, `token`
(the one service-account token accepted) and `signed_in` (a desktop sign-in). Every run appends
one JSON line {argv, stdin, token, others} to $OP_STAND_IN_LOG, so tests can prove where secrets went.
$OP_STAND_IN_FAULT=hang|garbage|huge|bad-id makes `item list` misbehave.
"""
import fcntl
import json
import os
import random
import string
import sys
import time

STATE = os.environ.get("OP_STAND_IN_DIR", "")
NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fail(message):
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    sys.stderr.write(f"[ERROR] {stamp} {message}\n")
    sys.exit(1)


def record(argv, stdin):
    path = os.environ.get("OP_STAND_IN_LOG")
    if not path:
        return
    line = json.dumps({
        "argv": argv,
        "stdin": stdin,
        "token": os.environ.get("OP_SERVICE_ACCOUNT_TOKEN"),
        "others": sorted(k for k in os.environ if k.startswith(("OP_CONNECT", "AWS_VAULT_OP", "AWS_VAULT_FILE_PASSPHRASE"))),
    })
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")


def parse(argv):
    flags, positional = {}, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            if not eq:
                if name in ("reveal", "dry-run"):
                    value = "true"
                else:
                    i += 1
                    value = argv[i] if i < len(argv) else ""
            flags[name] = value
        else:
            positional.append(arg)
        i += 1
    return flags, positional


def authenticate():
    token = os.environ.get("OP_SERVICE_ACCOUNT_TOKEN")
    if token is not None:
        try:
            with open(os.path.join(STATE, "token")) as f:
                good = f.read().strip()
        except FileNotFoundError:
            good = None
        if token != good:
            fail("error initializing client: Validation: (failed to session.DecodeSACredentials), "
                 "Server: (failed to DecodeSACredentials), failed to parseToken, format is invalid")
        return "service account"
    if os.path.exists(os.path.join(STATE, "signed_in")):
        return "user"
    fail("You are not currently signed in. Please run `op signin --help` for instructions")


def vault_dir(flags, auth):
    wanted = flags.get("vault")
    if wanted is None:
        if auth == "service account":
            fail("a vault must be specified with --vault when using a service account")
        fail("the stand-in needs --vault")
    root = os.path.join(STATE, "vaults")
    for vid in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        name = open(os.path.join(root, vid, "name")).read().strip()
        if wanted in (vid, name):
            return vid, name, os.path.join(root, vid, "items")
    fail(f'"{wanted}" isn\'t a vault in this account. Specify the vault with its ID or name.')


def load_items(items_dir):
    out = []
    for name in sorted(os.listdir(items_dir)) if os.path.isdir(items_dir) else []:
        if name.endswith(".json"):
            with open(os.path.join(items_dir, name)) as f:
                out.append(json.load(f))
    return out


def find(items_dir, spec):
    items = [i for i in load_items(items_dir) if not i.get("archived")]
    by_id = [i for i in items if i["id"] == spec]
    if by_id:
        return by_id[0]
    by_title = [i for i in items if i["title"] == spec]
    if len(by_title) > 1:
        fail(f'More than one item matches "{spec}". Try again and specify the item by its ID')
    if not by_title:
        fail(f'"{spec}" isn\'t an item. Specify the item with its UUID, name, or domain.')
    return by_title[0]


def save(items_dir, item):
    os.makedirs(items_dir, exist_ok=True)
    path = os.path.join(items_dir, item["id"] + ".json")
    tmp = path + ".tmp" + str(os.getpid())
    with open(tmp, "w") as f:
        json.dump(item, f)
    os.rename(tmp, path)


def category_of(text):
    return text.upper().replace(" ", "_")


def overview(item):
    row = {k: v for k, v in item.items() if k not in ("fields", "archived")}
    if not row.get("tags"):
        row.pop("tags", None)
    return row


def full(item, vid):
    out = overview(item)
    out["fields"] = [
        dict(f, reference=f"op://{vid}/{item['id']}/{f.get('label', '')}") for f in item["fields"]
    ]
    return out


def template_fields(template):
    fields = []
    for f in template.get("fields", []):
        fields.append({
            "id": f.get("id") or "".join(random.choice(string.ascii_lowercase) for _ in range(26)),
            "type": f.get("type", "STRING"),
            "label": f.get("label", ""),
            "value": f.get("value", ""),
        })
    return fields


def main():
    argv = sys.argv[1:]
    stdin = "" if sys.stdin.isatty() else sys.stdin.read()
    record(argv, stdin)
    flags, pos = parse(argv)
    if pos[:1] != ["item"] or len(pos) < 2:
        fail(f"unknown command {' '.join(pos)!r} for the stand-in")
    verb = pos[1]
    auth = authenticate()
    vid, vname, items_dir = vault_dir(flags, auth)

    if verb == "list":
        fault = os.environ.get("OP_STAND_IN_FAULT")
        if fault == "hang":
            time.sleep(3600)
        if fault == "garbage":
            print("[{\"id\": \"abc\", \"title\": ")
            return
        if fault == "huge":
            chunk = json.dumps({"id": "x" * 26, "title": "y" * 1000}) + ","
            sys.stdout.write("[")
            for _ in range(int(os.environ.get("OP_STAND_IN_HUGE_ROWS", "100000"))):
                sys.stdout.write(chunk)
            sys.stdout.write("{}]\n")
            return
        tag = flags.get("tags")
        cats = [category_of(c) for c in flags.get("categories", "").split(",") if c]
        rows = []
        for item in load_items(items_dir):
            if item.get("archived"):
                continue
            if tag is not None and not any(t == tag or t.startswith(tag + "/") for t in item.get("tags", [])):
                continue
            if cats and item["category"] not in cats:
                continue
            rows.append(overview(item))
        if fault == "bad-id":
            for row in rows:
                row["id"] = "--vault=elsewhere"
        print(json.dumps(rows))
    elif verb == "get":
        item = find(items_dir, pos[2])
        print(json.dumps(full(item, vid)))
    elif verb == "create":
        if pos[2:3] != ["-"]:
            fail("the stand-in only creates items from a template on stdin ('-')")
        template = json.loads(stdin)
        rid = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        item = {
            "id": rid,
            "title": template.get("title", "Untitled API Credential item"),
            "version": 1,
            "vault": {"id": vid, "name": vname},
            "category": category_of(template.get("category", "")),
            "last_edited_by": "STANDIN",
            "created_at": NOW,
            "updated_at": NOW,
            "tags": [t for t in flags.get("tags", "").split(",") if t],
            "fields": template_fields(template),
        }
        save(items_dir, item)
        print(json.dumps(full(item, vid)))
    elif verb == "edit":
        item = find(items_dir, pos[2])
        if stdin.strip() == "":
            fail("the stand-in only edits items from piped JSON")
        edited = json.loads(stdin)
        item["title"] = edited.get("title", item["title"])
        item["fields"] = template_fields(edited)
        item["version"] += 1
        item["updated_at"] = NOW
        if "tags" in flags:
            item["tags"] = [t for t in flags["tags"].split(",") if t]
        save(items_dir, item)
        print(json.dumps(full(item, vid)))
    elif verb == "delete":
        item = find(items_dir, pos[2])
        os.remove(os.path.join(items_dir, item["id"] + ".json"))
    else:
        fail(f"unknown command 'item {verb}' for the stand-in")


if __name__ == "__main__":
    main()
