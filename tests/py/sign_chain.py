#!/usr/bin/env python3
"""Trust chains and .sig files for tests/sign_cli.rs, made with the same Python
`cryptography` calls as the seed's own scripts (ca_root_init.py, ca_issue_signer.py,
sign_file.py, verify_sig_chain.py).

  sign_chain.py chain OUT          root + signers (good 101, revoked 666, expired 102,
                                   no-EKU 103) under OUT; an HQ at OUT/hq
  sign_chain.py sign FILE KEY CERT ROOT_PEM [SIG]
                                   the seed's sign_file.py with the chain attached
  sign_chain.py verify FILE ROOT_PEM [SIG]
                                   the seed's verify_sig_chain.py (exit 0 ok, 1 not)
"""
import base64, hashlib, json, os, sys
from datetime import datetime, timezone
from pathlib import Path
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def utc(y, m, d):
    return datetime(y, m, d, tzinfo=timezone.utc)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(sk):
    return sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())


def write(path, data, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def chain(out):
    rsk = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Lumen Root CA'),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Lumen System C')])
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(rsk.public_key()).serial_number(1000)
            .not_valid_before(utc(2025, 10, 23)).not_valid_after(utc(2045, 10, 21))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .sign(private_key=rsk, algorithm=None))

    def signer(tag, serial, start, end, eku=True):
        sk = ed25519.Ed25519PrivateKey.generate()
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([
                 x509.NameAttribute(NameOID.COMMON_NAME, 'Lumen Artifact Signer'),
                 x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tag)]))
             .issuer_name(root.subject).public_key(sk.public_key()).serial_number(serial)
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                critical=False)
        cert = b.sign(private_key=rsk, algorithm=None)
        write(out / f'{tag}_cert.pem', pem(cert))
        write(out / f'{tag}_key.pem', key_pem(sk), 0o600)

    signer('good', 101, utc(2026, 1, 1), utc(2040, 1, 1))
    signer('revoked', 666, utc(2026, 1, 1), utc(2040, 1, 1))
    signer('expired', 102, utc(2020, 1, 1), utc(2021, 1, 1))
    signer('noeku', 103, utc(2026, 1, 1), utc(2040, 1, 1), eku=False)
    write(out / 'other_key.pem', key_pem(ed25519.Ed25519PrivateKey.generate()), 0o600)
    hq = out / 'hq'
    write(hq / 'controls/keys/root/root_ca_cert.pem', pem(root))
    write(hq / 'controls/keys/current/signer_cert.pem', (out / 'good_cert.pem').read_bytes())
    fp = hashlib.sha256(pem(root)).hexdigest()
    write(hq / 'controls/trust/chain_manifest.json', json.dumps({
        'root_subject': 'CN=Lumen Root CA, O=Lumen System C',
        'root_fingerprint_sha256': fp,
        'policy': {'signer_valid_days': 180, 'key_rotation': '6 months',
                   'allowed_eku': ['codeSigning'], 'crl': 'controls/trust/crl.jsonl'},
    }, indent=2).encode())
    write(hq / 'controls/trust/crl.jsonl',
          b'{"serial": 1234567890, "reason":"keyCompromise", "revoked_at":"2025-10-01T00:00:00Z"}\n'
          b'{"serial": 666, "reason":"keyCompromise", "revoked_at":"2026-03-01T00:00:00Z"}\n')


def sign(f, key, cert, root_pem, sig=None):
    # sign_file.py: hash, then sign the digest; then the chain extension of section 3.
    priv = serialization.load_pem_private_key(Path(key).read_bytes(), password=None)
    data = Path(f).read_bytes()
    h = hashlib.new('sha256', data).digest()
    meta = {'alg': 'sha256', 'hash_hex': hashlib.new('sha256', data).hexdigest(),
            'sig_b64': base64.b64encode(priv.sign(h)).decode()}
    meta.update({'signer_cert_pem': Path(cert).read_text(encoding='utf-8'),
                 'root_fingerprint': hashlib.sha256(Path(root_pem).read_bytes()).hexdigest()})
    out = Path(sig) if sig else Path(f).with_suffix(Path(f).suffix + '.sig')
    out.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding='utf-8')


def verify(f, root_pem, sig=None):
    # verify_sig_chain.py
    f = Path(f)
    s = Path(sig) if sig else f.with_suffix(f.suffix + '.sig')
    meta = json.loads(s.read_text('utf-8'))
    root = x509.load_pem_x509_certificate(Path(root_pem).read_bytes())
    signer = x509.load_pem_x509_certificate(meta['signer_cert_pem'].encode('utf-8'))
    try:
        root.public_key().verify(signer.signature, signer.tbs_certificate_bytes)
    except Exception as e:
        print(json.dumps({'ok': False, 'error': 'bad chain: ' + str(e)})); sys.exit(1)
    h = hashlib.new(meta['alg'], f.read_bytes()).digest()
    try:
        signer.public_key().verify(base64.b64decode(meta['sig_b64']), h)
    except Exception as e:
        print(json.dumps({'ok': False, 'error': 'bad signature: ' + str(e)})); sys.exit(1)
    print(json.dumps({'ok': True, 'hash_hex': meta['hash_hex']}))


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'chain': lambda: chain(Path(args[0])),
     'sign': lambda: sign(*args),
     'verify': lambda: verify(*args)}[cmd]()
