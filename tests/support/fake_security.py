#!/usr/bin/env -S python3 -S
"""A recording stand-in for macOS /usr/bin/security, for the keychain backend's tests.

Copied into a temp dir as an executable named `security`; its state lives beside it:
  state.json    keychains and their generic-password items
  calls.jsonl   one record per run: {"argv": [...], "lines": [stdin lines read by -i]}
  fail.json     optional fault: {"command": name, "status": OSStatus, "message": text}

Behaviour follows Apple's SecurityTool source (security.c, keychain_utilities.c,
keychain_find.c): `-i` reads lines of at most 4095 bytes (the rest of a longer line is read as
the next command; a last line without newline is dropped), splits them with its quote/escape
rules, and exits with the last command's status truncated to 8 bits. Values print through
print_buffer: "text" when every byte is printable ASCII other than backslash, else 0xHEX then
the escaped text. find-generic-password writes attributes to stdout and `password: ...` to
stderr. Errors are `security: <call>: <message>` on stderr.
"""
import fcntl
import getopt
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = os.path.join(HERE, "state.json")
CALLS = os.path.join(HERE, "calls.jsonl")
FAIL = os.path.join(HERE, "fail.json")
LOCK = os.path.join(HERE, "state.lock")
KEYCHAINS = os.path.join(HERE, "Library", "Keychains")

MAX_LINE_LEN = 4096
MAX_ARGS = 32

ERR_ITEM_NOT_FOUND = -25300
ERR_DUPLICATE_ITEM = -25299
ERR_NO_SUCH_KEYCHAIN = -25294
ERR_DUPLICATE_KEYCHAIN = -25296
ERR_PARAM = -50

MESSAGES = {
    ERR_ITEM_NOT_FOUND: "The specified item could not be found in the keychain.",
    ERR_DUPLICATE_ITEM: "The specified item already exists in the keychain.",
    ERR_NO_SUCH_KEYCHAIN: "The specified keychain could not be found.",
    ERR_DUPLICATE_KEYCHAIN: "A keychain with the same name already exists.",
    ERR_PARAM: "One or more parameters passed to a function were not valid.",
    -25308: "User interaction is not allowed.",
    -128: "User canceled the operation.",
}


def sec_error(text):
    sys.stderr.write("security: %s\n" % text)


def sec_perror(call, status):
    sec_error("%s: %s" % (call, MESSAGES.get(status, "OSStatus %d" % status)))


# --- print_buffer -------------------------------------------------------------------------


def printable(b):
    return 0x20 <= b <= 0x7E and b != 0x5C


def print_buffer(data):
    has_hex = any(not printable(b) for b in data)
    has_ascii = any(printable(b) for b in data)
    out = ""
    if has_hex:
        out += "0x" + "".join("%02X" % b for b in data)
        out += "  " if has_ascii else " "
    if has_ascii:
        out += '"' + "".join(chr(b) if printable(b) else "\\%03o" % b for b in data) + '"'
    return out


def print_attr(tag, fmt, value):
    if isinstance(tag, int):
        name = print_buffer(tag.to_bytes(4, "big"))
    else:
        name = print_buffer(tag.encode())
    if value is None:
        shown = "<NULL>"
    elif isinstance(value, int):
        shown = print_buffer(value.to_bytes(4, "big"))
    else:
        shown = print_buffer(value)
    return "    %s<%s>=%s\n" % (name, fmt, shown)


def keychain_path(name):
    path = name if name.startswith("/") else os.path.join(KEYCHAINS, name)
    return path + "-db" if path.endswith(".keychain") else path


def print_item(keychain, item):
    out = "keychain: %s\n" % print_buffer(keychain_path(keychain).encode())
    out += 'class: "genp"\nattributes:\n'
    date = (item["created"] + "Z").encode() + b"\0"

    def text(field):
        v = item.get(field)
        return None if v is None else v.encode()

    out += print_attr(7, "blob", text("label"))
    out += print_attr(8, "blob", None)
    out += print_attr("acct", "blob", text("account"))
    out += print_attr("cdat", "timedate", date)
    out += print_attr("crtr", "uint32", None)
    out += print_attr("cusi", "sint32", None)
    out += print_attr("desc", "blob", text("kind"))
    out += print_attr("gena", "blob", None)
    out += print_attr("icmt", "blob", text("comment"))
    out += print_attr("invi", "sint32", None)
    out += print_attr("mdat", "timedate", date)
    out += print_attr("nega", "sint32", None)
    out += print_attr("prot", "blob", None)
    out += print_attr("scrp", "sint32", None)
    out += print_attr("svce", "blob", text("service"))
    out += print_attr("type", "uint32", None)
    return out


# --- state --------------------------------------------------------------------------------


class State:
    """The JSON state under an exclusive lock for the whole run (parallel writers serialise)."""

    def __enter__(self):
        self.lock = open(LOCK, "a")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(STATE) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {"keychains": {}}
        return self

    def __exit__(self, *exc):
        tmp = STATE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, STATE)
        self.lock.close()

    def keychain(self, name):
        return self.data["keychains"].get(name)


def find(items, service, account):
    for item in items:
        if (service is None or item["service"] == service) and (
            account is None or item["account"] == account
        ):
            return item
    return None


def fault(command):
    try:
        with open(FAIL) as f:
            spec = json.load(f)
    except FileNotFoundError:
        return None
    if spec.get("command") != command:
        return None
    if "message" in spec:
        sys.stderr.write(spec["message"] + "\n")
    return spec["status"]


def parse(argv, spec):
    try:
        opts, rest = getopt.getopt(argv, spec)
    except getopt.GetoptError:
        return None, None
    return opts, rest


def one_keychain(state, rest):
    name = rest[0] if rest else "login.keychain"
    return name, state.keychain(name)


# --- commands -----------------------------------------------------------------------------


def cmd_create_keychain(state, argv):
    opts, rest = parse(argv, "p:P")
    if opts is None or not rest:
        return 2
    for name in rest:
        if state.keychain(name) is not None:
            sec_perror("SecKeychainCreate %s" % name, ERR_DUPLICATE_KEYCHAIN)
            return ERR_DUPLICATE_KEYCHAIN
        state.data["keychains"][name] = {"items": []}
    return 0


def cmd_show_keychain_info(state, argv):
    opts, rest = parse(argv, "")
    if opts is None:
        return 2
    name, kc = one_keychain(state, rest)
    if kc is None:
        sec_perror("SecKeychainCopySettings %s" % keychain_path(name), ERR_NO_SUCH_KEYCHAIN)
        return ERR_NO_SUCH_KEYCHAIN
    sys.stderr.write('Keychain "%s" lock-on-sleep timeout=300s\n' % keychain_path(name))
    return 0


def cmd_add_generic_password(state, argv):
    opts, rest = parse(argv, "a:c:C:D:G:j:l:s:p:w:X:UAT:h")
    if opts is None or len(rest) > 1:
        return 2
    o = {}
    trusted = "default"
    for flag, value in opts:
        if flag == "-A":
            trusted = "any"
        elif flag == "-T":
            trusted = (trusted if isinstance(trusted, list) else []) + (
                [value] if value else []
            )
        else:
            o[flag] = value
    if "-X" in o:
        try:
            password = bytes.fromhex(o["-X"])
        except ValueError:
            sec_error("Password data must be a hexadecimal string")
            return 2
    elif "-w" in o or "-p" in o:
        password = o.get("-w", o.get("-p")).encode()
    else:
        return 2
    name, kc = one_keychain(state, rest)
    if kc is None:
        sec_perror("SecKeychainItemCreateFromContent (%s)" % name, ERR_NO_SUCH_KEYCHAIN)
        return ERR_NO_SUCH_KEYCHAIN
    service, account = o.get("-s", ""), o.get("-a", "")
    item = find(kc["items"], service, account)
    if item is not None and "-U" not in o:
        sec_perror("SecKeychainItemCreateFromContent (%s)" % name, ERR_DUPLICATE_ITEM)
        return ERR_DUPLICATE_ITEM
    if item is None:
        item = {
            "service": service,
            "account": account,
            "created": time.strftime("%Y%m%d%H%M%S", time.gmtime()),
            "trusted": trusted,
        }
        kc["items"].append(item)
    item["label"] = o.get("-l", service)
    item["kind"] = o.get("-D", "application password")
    if "-j" in o:
        item["comment"] = o["-j"]
    item["password"] = password.hex()
    return 0


def find_or_report(state, o, rest):
    """The keychain and the item -s/-a name; reports security's not-found error when missing."""
    name, kc = one_keychain(state, rest)
    item = find(kc["items"], o.get("-s"), o.get("-a")) if kc is not None else None
    if item is None:
        sec_perror("SecKeychainSearchCopyNext", ERR_ITEM_NOT_FOUND)
    return name, kc, item


def cmd_find_generic_password(state, argv):
    opts, rest = parse(argv, "a:c:C:D:G:j:l:s:gwh")
    if opts is None:
        return 2
    o = dict(opts)
    name, kc, item = find_or_report(state, o, rest)
    if item is None:
        return ERR_ITEM_NOT_FOUND
    password = bytes.fromhex(item["password"])
    if "-w" in o:
        if all(0x20 <= b <= 0x7E for b in password):
            sys.stdout.write(password.decode() + "\n")
        else:
            sys.stdout.write(password.hex() + "\n")
        return 0
    sys.stdout.write(print_item(name, item))
    if "-g" in o:
        sys.stderr.write("password: " + print_buffer(password) + "\n")
    return 0


def cmd_delete_generic_password(state, argv):
    opts, rest = parse(argv, "a:c:C:D:G:j:l:s:h")
    if opts is None:
        return 2
    o = dict(opts)
    name, kc, item = find_or_report(state, o, rest)
    if item is None:
        return ERR_ITEM_NOT_FOUND
    sys.stdout.write(print_item(name, item))
    kc["items"].remove(item)
    sys.stderr.write("password has been deleted.\n")
    return 0


def cmd_dump_keychain(state, argv):
    opts, rest = parse(argv, "adhiro:")
    if opts is None:
        return 2
    name, kc = one_keychain(state, rest)
    if kc is None:
        sec_perror("SecKeychainSearchCopyNext", ERR_NO_SUCH_KEYCHAIN)
        return 1
    for item in kc["items"]:
        sys.stdout.write(print_item(name, item))
    return 0


COMMANDS = [
    ("create-keychain", cmd_create_keychain),
    ("show-keychain-info", cmd_show_keychain_info),
    ("dump-keychain", cmd_dump_keychain),
    ("add-generic-password", cmd_add_generic_password),
    ("find-generic-password", cmd_find_generic_password),
    ("delete-generic-password", cmd_delete_generic_password),
]


def execute_command(state, argv):
    if not argv:
        return 0
    for name, func in COMMANDS:
        if name.startswith(argv[0]):  # security matches command names by prefix
            status = fault(name)
            if status is not None:
                return status
            result = func(state, argv[1:])
            if result == 2:
                sys.stderr.write("Usage: %s ...\n" % name)
            return result
    sec_error('unknown command "%s"' % argv[0])
    return 1


# --- interactive mode ---------------------------------------------------------------------


def readline(stream):
    """security's readline(): at most MAX_LINE_LEN - 1 bytes; None at EOF (partial line lost)."""
    buf = bytearray()
    while len(buf) < MAX_LINE_LEN - 1:
        ch = stream.read(1)
        if not ch:
            return None
        if ch == b"\n":
            break
        buf += ch
    return bytes(buf)


def split_line(line):
    """security's split_line(): whitespace-separated, '…' or "…" quoting, backslash escapes."""
    args, cur, state, quote_ch = [], bytearray(), "skip", None
    for b in line:
        c = bytes([b])
        if state == "skip":
            if c.isspace():
                continue
            if c in (b'"', b"'"):
                quote_ch, state = c, "quoted"
                continue
            state = "arg"
        if state == "arg":
            if c == b"\\":
                state = "arg_esc"
                continue
            if c.isspace():
                args.append(bytes(cur))
                cur, state = bytearray(), "skip"
                if len(args) >= MAX_ARGS:
                    break
                continue
            cur += c
            continue
        if state == "quoted":
            if c == b"\\":
                state = "quoted_esc"
                continue
            if c == quote_ch:
                args.append(bytes(cur))
                cur, state = bytearray(), "skip"
                if len(args) >= MAX_ARGS:
                    break
                continue
            cur += c
            continue
        if state == "arg_esc":
            cur += c
            state = "arg"
            continue
        if state == "quoted_esc":
            cur += c
            state = "quoted"
    if state != "skip":
        args.append(bytes(cur))
    return [a.decode("utf-8", "surrogateescape") for a in args]


def record(entry):
    with open(CALLS, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(entry) + "\n")


def main():
    argv = sys.argv[1:]
    entry = {"argv": argv, "lines": []}
    try:
        opts, rest = getopt.getopt(argv, "hilp:qv")
    except getopt.GetoptError:
        record(entry)
        return 2
    flags = dict(opts)
    with State() as state:
        if rest:
            result = execute_command(state, rest)
        elif "-i" in flags:
            result = 0
            stdin = sys.stdin.buffer
            while True:
                line = readline(stdin)
                if line is None:
                    break
                entry["lines"].append(line.decode("utf-8", "surrogateescape"))
                args = split_line(line)
                result = execute_command(state, args)
                if result and "-q" not in flags:
                    sys.stderr.write("%s: returned %d\n" % (args[0], result))
        else:
            result = 2
    record(entry)
    return result & 0xFF


if __name__ == "__main__":
    sys.exit(main())
