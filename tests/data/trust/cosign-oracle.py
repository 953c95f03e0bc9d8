#!/usr/bin/python3
# An independent implementation of cosign's key format (go-securesystemslib's
# "encrypted" package: scrypt + NaCl secretbox around PKCS#8), written with
# python3-nacl and python3-cryptography, to check petra against.
#
#   cosign-oracle.py generate PREFIX           PREFIX.key / PREFIX.pub, password $PETRA_PASSWORD
#   cosign-oracle.py public KEYFILE            decrypt KEYFILE, print its public key PEM
#   cosign-oracle.py sign KEYFILE FILE         print base64 ECDSA/SHA-256 signature of FILE
#   cosign-oracle.py verify PUBFILE FILE SIG   exit 0 when the base64 SIG verifies FILE
#   cosign-oracle.py dsse-verify PUBFILE ENV   exit 0 when a signature of the DSSE
#                                              envelope ENV verifies; prints the payload
import base64, json, os, sys
import nacl.secret, nacl.utils
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.exceptions import InvalidSignature

PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
password = os.environ.get("PETRA_PASSWORD", "").encode()


def pem_encode(kind, data):
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, "\n".join(lines), kind)


def pem_decode(text):
    lines = text.strip().splitlines()
    kind = lines[0][len("-----BEGIN "):-len("-----")]
    assert lines[-1] == "-----END %s-----" % kind
    return kind, base64.b64decode("".join(lines[1:-1]))


def box_key(salt, n, r, p):
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password)


def load_private(path):
    kind, body = pem_decode(open(path).read())
    assert kind in PEM_TYPES, kind
    doc = json.loads(body)
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"]["name"] == "nacl/secretbox"
    prm = doc["kdf"]["params"]
    key = box_key(base64.b64decode(doc["kdf"]["salt"]), prm["N"], prm["r"], prm["p"])
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]),
                                             base64.b64decode(doc["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, password=None)


def main():
    cmd = sys.argv[1]
    if cmd == "generate":
        prefix = sys.argv[2]
        priv = ec.generate_private_key(ec.SECP256R1())
        der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        salt, nonce = nacl.utils.random(32), nacl.utils.random(24)
        sealed = nacl.secret.SecretBox(box_key(salt, 65536, 8, 1)).encrypt(der, nonce).ciphertext
        doc = {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1},
                       "salt": base64.b64encode(salt).decode()},
               "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
               "ciphertext": base64.b64encode(sealed).decode()}
        open(prefix + ".key", "w").write(pem_encode(PEM_TYPES[0], json.dumps(doc).encode()))
        open(prefix + ".pub", "wb").write(priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    elif cmd == "public":
        pub = load_private(sys.argv[2]).public_key()
        sys.stdout.write(pub.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    elif cmd == "sign":
        sig = load_private(sys.argv[2]).sign(open(sys.argv[3], "rb").read(), ec.ECDSA(hashes.SHA256()))
        print(base64.b64encode(sig).decode())
    elif cmd == "verify":
        pub = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
        try:
            pub.verify(base64.b64decode(sys.argv[4]), open(sys.argv[3], "rb").read(),
                       ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            sys.exit(1)
    elif cmd == "dsse-verify":
        pub = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
        env = json.load(open(sys.argv[3]))
        body = base64.b64decode(env["payload"])
        ptype = env["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(body), body)
        for sig in env["signatures"]:
            try:
                pub.verify(base64.b64decode(sig["sig"]), pae, ec.ECDSA(hashes.SHA256()))
                sys.stdout.write(body.decode())
                return
            except InvalidSignature:
                pass
        sys.exit(1)
    else:
        sys.exit("unknown command " + cmd)


main()
