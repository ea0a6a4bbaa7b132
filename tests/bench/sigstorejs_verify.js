// sigstorejs_verify.js - offline verification of one Sigstore bundle with
// sigstore-js (@sigstore/verify), for tests/bench/verify.sh: the reference
// implementation that `gate verify` is timed against, and an independent
// check of tests/tools/sigstore_stack.py output.
//
// node sigstorejs_verify.js BUNDLE ARTIFACT TRUSTED_ROOT.json
//      (--identity ID --issuer URL | --key PUB.pem)
// Exit 0 verified, 1 rejected, 2 usage. No network: the trusted root is read
// from a file (no TUF), unlike sigstore.verify().
// Needs NODE_PATH to hold @sigstore/{bundle,verify,protobuf-specs}.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

function usage(msg) {
  process.stderr.write(`sigstorejs_verify: ${msg}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const pos = [];
const opt = {};
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith('--')) {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    opt[argv[i].slice(2)] = argv[++i];
  } else {
    pos.push(argv[i]);
  }
}
if (pos.length !== 3) usage('BUNDLE ARTIFACT TRUSTED_ROOT are required');
if (!opt.key && !(opt.identity && opt.issuer)) usage('give --identity and --issuer, or --key');

try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(pos[0], 'utf8')));
  const artifact = fs.readFileSync(pos[1]);
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(pos[2], 'utf8')));
  let keys;
  if (opt.key) {
    // Managed key: any hint maps to the given key (the hint is unauthenticated).
    const der = crypto
      .createPublicKey(fs.readFileSync(opt.key))
      .export({ format: 'der', type: 'spki' });
    keys = () => ({ publicKey: crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }),
                    validFor: () => true });
  }
  const verifier = new Verifier(toTrustMaterial(root, keys));
  const policy = opt.key ? undefined
    : { subjectAlternativeName: opt.identity, extensions: { issuer: opt.issuer } };
  verifier.verify(toSignedEntity(bundle, artifact), policy);
  process.stdout.write('verified\n');
} catch (e) {
  process.stdout.write(`rejected: ${e.code || ''} ${e.message}\n`);
  process.exit(1);
}
