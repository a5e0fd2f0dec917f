// dsse-verify checks a DSSE envelope with go-securesystemslib, the DSSE implementation the
// in-toto and sigstore Go tooling uses, against the public keys of a JWKS:
//
//	dsse-verify ENVELOPE.json JWKS.json
//
// It prints {"keyids":[...],"payloadType":"...","payloadSha256":"..."} and exits 0 when at
// least one signature verifies, or prints the library's error and exits 1. The JWK to PEM
// conversion is ours; the PAE encoding and signature checks are go-securesystemslib's.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
)

type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type report struct {
	KeyIDs        []string `json:"keyids"`
	PayloadType   string   `json:"payloadType"`
	PayloadSHA256 string   `json:"payloadSha256"`
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: dsse-verify ENVELOPE.json JWKS.json")
	}
	var envelope dsse.Envelope
	readJSON(os.Args[1], &envelope)
	var set struct {
		Keys []jwk `json:"keys"`
	}
	readJSON(os.Args[2], &set)

	verifiers := make([]dsse.Verifier, 0, len(set.Keys))
	for _, key := range set.Keys {
		verifiers = append(verifiers, verifierFor(key))
	}
	ev, err := dsse.NewEnvelopeVerifier(verifiers...)
	if err != nil {
		fail(err.Error())
	}
	accepted, payload, err := ev.VerifyAndDecode(context.Background(), &envelope)
	if err != nil {
		fail(err.Error())
	}

	out := report{PayloadType: envelope.PayloadType}
	for _, key := range accepted {
		out.KeyIDs = append(out.KeyIDs, key.KeyID)
	}
	digest := sha256.Sum256(payload)
	out.PayloadSHA256 = hex.EncodeToString(digest[:])
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func verifierFor(key jwk) dsse.Verifier {
	sslib, err := signerverifier.LoadKey(publicPEM(key))
	if err != nil {
		fail(fmt.Sprintf("key %s: %v", key.Kid, err))
	}
	// The envelope names keys by their JWK thumbprint (kid), not by securesystemslib's id.
	sslib.KeyID = key.Kid
	var verifier dsse.Verifier
	switch sslib.KeyType {
	case "ed25519":
		verifier, err = signerverifier.NewED25519SignerVerifierFromSSLibKey(sslib)
	case "ecdsa":
		verifier, err = signerverifier.NewECDSASignerVerifierFromSSLibKey(sslib)
	default:
		verifier, err = signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(sslib)
	}
	if err != nil {
		fail(fmt.Sprintf("key %s: %v", key.Kid, err))
	}
	return verifier
}

func publicPEM(key jwk) []byte {
	var public any
	switch key.Kty {
	case "OKP":
		public = ed25519.PublicKey(decode(key.X))
	case "EC":
		public = &ecdsa.PublicKey{Curve: elliptic.P256(), X: number(key.X), Y: number(key.Y)}
	case "RSA":
		public = &rsa.PublicKey{N: number(key.N), E: int(number(key.E).Int64())}
	default:
		fail(fmt.Sprintf("key %s: unsupported kty %q", key.Kid, key.Kty))
	}
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		fail(fmt.Sprintf("key %s: %v", key.Kid, err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func number(text string) *big.Int {
	return new(big.Int).SetBytes(decode(text))
}

func decode(text string) []byte {
	bytes, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		fail(fmt.Sprintf("bad base64url in a JWK: %v", err))
	}
	return bytes
}

func readJSON(path string, into any) {
	bytes, err := os.ReadFile(path)
	if err != nil {
		fail(err.Error())
	}
	if err := json.Unmarshal(bytes, into); err != nil {
		fail(fmt.Sprintf("%s: %v", path, err))
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "dsse-verify:", message)
	os.Exit(1)
}
