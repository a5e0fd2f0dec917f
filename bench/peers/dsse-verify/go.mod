module stella.local/bench/peers/dsse-verify

go 1.25.0

require github.com/secure-systems-lab/go-securesystemslib v0.11.1 // indirect
