//go:build tools

// Pins h2spec and its dependencies for test/h2spec/build.sh (go.mod, go.sum).
package tools

import _ "github.com/summerwind/h2spec/cmd/h2spec"
