package store

// DisableWire makes PostgreSQL streams decode rows through pgx's Scan
// instead of the binary decoders until the returned function is called, so
// a test can compare the two.
func DisableWire() (enable func()) {
	wireDisabled = true
	return func() { wireDisabled = false }
}
