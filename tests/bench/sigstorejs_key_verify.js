// sigstorejs_key_verify.js - offline verification of one managed-key Sigstore
// bundle (made by `gate sign`: a public-key hint, no certificate, no
// transparency-log entry, no timestamp) with sigstore-js (@sigstore/verify),
// for tests/bench/check.sh: the per-file reference that `gate check` is
// timed against.
//
// node sigstorejs_key_verify.js BUNDLE ARTIFACT PUB.pem
// Exit 0 verified, 1 rejected, 2 usage. No network and no trusted root: the
// trust material is the one public key (@sigstore/verify toTrustMaterial with
// an empty root), and the Verifier is told to expect no log entries, SCTs or
// timestamps (tlogThreshold, ctlogThreshold, tsaThreshold 0), as
// `gate verify --key PUB --insecure-ignore-tlog` does.
// Needs NODE_PATH to hold @sigstore/{bundle,verify}.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const argv = process.argv.slice(2);
if (argv.length !== 3) {
  process.stderr.write('usage: sigstorejs_key_verify.js BUNDLE ARTIFACT PUB.pem\n');
  process.exit(2);
}

try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(argv[0], 'utf8')));
  const artifact = fs.readFileSync(argv[1]);
  const der = crypto.createPublicKey(fs.readFileSync(argv[2]))
    .export({ format: 'der', type: 'spki' });
  // The bundle's key hint is not authenticated: every hint maps to the one
  // pinned key, and the signature decides.
  const keys = () => ({ publicKey: crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }),
                        validFor: () => true });
  const emptyRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  const verifier = new Verifier(toTrustMaterial(emptyRoot, keys),
    { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0 });
  verifier.verify(toSignedEntity(bundle, artifact));
  process.stdout.write('verified\n');
} catch (e) {
  process.stdout.write(`rejected: ${e.code || ''} ${e.message}\n`);
  process.exit(1);
}
