"""Test vectors of tests/device/vectors/, read one line at a time (the files are larger than
what a test should hold in its heap)."""
from binascii import unhexlify

DIR = __file__.rsplit("/", 1)[0] + "/vectors/"


def lines(name):
    """The fields of each data line of a vector file (comments and blank lines skipped)."""
    with open(DIR + name) as f:
        for line in f:
            if line[0] != "#" and line.strip():
                yield line.split()


def hexb(s):
    return b"" if s == "-" else unhexlify(s)


def read(name):
    with open(DIR + name, "rb") as f:
        return f.read()


def cert_pem(name):
    """The PEM block named `name` in x509_fixtures.pem (made by tests/host/pki_certs.py)."""
    out = []
    with open(DIR + "x509_fixtures.pem", "rb") as f:
        found = False
        for line in f:
            if line.startswith(b"== "):
                if found:
                    break
                found = line[3:].strip() == name.encode()
            elif found:
                out.append(line)
    if not out:
        raise KeyError(name)
    return b"".join(out)
