//go:build tools

// Package peers pins the Go-built peers davit's pull is measured against (bench/pull-peers.sh): crane and regctl.
// Benchmark tooling only: nothing of it is in davit.
package peers

import (
	_ "github.com/google/go-containerregistry/cmd/crane"
	_ "github.com/regclient/regclient/cmd/regctl"
)
