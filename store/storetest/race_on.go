//go:build race

package storetest

// Race is true when the tests run with the race detector (-race).
const Race = true
