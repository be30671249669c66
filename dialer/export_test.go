package dialer

// The internal tests' TLS fixtures, for the external tests (package
// dialer_test) too.
var (
	TestCert  = testCert
	TLSServer = tlsServer
)
