package workflowclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// The environment variables every workflowd client (wfctl, workflow-mcp,
// the Go, Python and TypeScript clients) reads its TLS files from when none
// are given: the CA certificate(s) to trust, and the client certificate and
// its key for a daemon that requires one (its tls_client_ca setting). All
// are PEM files.
const (
	TLSCAEnv   = "WORKFLOW_TLS_CA"
	TLSCertEnv = "WORKFLOW_TLS_CERT"
	TLSKeyEnv  = "WORKFLOW_TLS_KEY"
)

// tlsOption is what WithTLS returns: Dial reads it, gRPC ignores it.
type tlsOption struct {
	grpc.EmptyDialOption
	ca, cert, key string
}

// WithTLS makes Dial connect over TLS, trusting the CA certificate(s) in
// caFile instead of the system's roots, and presenting the client
// certificate in certFile with its key in keyFile, for a daemon that
// requires one. Each empty argument falls back to its variable
// ($WORKFLOW_TLS_CA, $WORKFLOW_TLS_CERT, $WORKFLOW_TLS_KEY), as wfctl's
// flags do; a certificate needs its key. The files are read by Dial.
//
// An https:// address connects over TLS without any file (system roots);
// for anything these files cannot express, pass
// grpc.WithTransportCredentials(credentials.NewTLS(cfg)), which wins.
func WithTLS(caFile, certFile, keyFile string) grpc.DialOption {
	return tlsOption{ca: caFile, cert: certFile, key: keyFile}
}

// tlsFile is a TLS file and where it was named: "WithTLS caFile" or the
// variable.
type tlsFile struct{ from, path string }

// dialTLS resolves the files of the last WithTLS in opts, each empty one
// falling back to its variable, then returns the gRPC target for addr and
// the TLS credentials to use (nil: plaintext). https:// or any TLS file
// means TLS; TLS files with an http:// or unix: address are an error rather
// than ignored, the rule of every workflowd client.
func dialTLS(addr string, opts []grpc.DialOption) (string, credentials.TransportCredentials, error) {
	var given tlsOption
	for _, opt := range opts {
		if t, ok := opt.(tlsOption); ok {
			given = t
		}
	}
	pick := func(value, arg, env string) *tlsFile {
		if value = strings.TrimSpace(value); value != "" {
			return &tlsFile{"WithTLS " + arg, value}
		}
		if value = strings.TrimSpace(os.Getenv(env)); value != "" {
			return &tlsFile{env, value}
		}
		return nil
	}
	ca := pick(given.ca, "caFile", TLSCAEnv)
	cert := pick(given.cert, "certFile", TLSCertEnv)
	key := pick(given.key, "keyFile", TLSKeyEnv)

	addr = strings.TrimSpace(addr)
	lower := strings.ToLower(addr)
	https := strings.HasPrefix(lower, "https://")
	// gRPC targets name a resolver, not a URL scheme: http(s):// is host:port.
	target := addr
	if https || strings.HasPrefix(lower, "http://") {
		target = strings.TrimRight(addr[strings.Index(addr, "://")+3:], "/")
	}
	var first *tlsFile
	for _, f := range []*tlsFile{ca, cert, key} {
		if f != nil {
			first = f
			break
		}
	}
	if !https && first == nil {
		return target, nil, nil
	}
	if !https && (strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "unix:")) {
		return "", nil, fmt.Errorf("%s is set but the daemon address %q is not https://host:port", first.from, addr)
	}

	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != nil {
		pem, err := os.ReadFile(ca.path)
		if err != nil {
			return "", nil, fmt.Errorf("%s: cannot read %s: %w", ca.from, ca.path, err)
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			return "", nil, fmt.Errorf("%s: no PEM certificate in %s", ca.from, ca.path)
		}
	}
	switch {
	case cert != nil && key == nil:
		return "", nil, fmt.Errorf("%s is set but keyFile (%s) is not: a client certificate needs both", cert.from, TLSKeyEnv)
	case key != nil && cert == nil:
		return "", nil, fmt.Errorf("%s is set but certFile (%s) is not: a client certificate needs both", key.from, TLSCertEnv)
	case cert != nil:
		certPEM, err := os.ReadFile(cert.path)
		if err != nil {
			return "", nil, fmt.Errorf("%s: cannot read %s: %w", cert.from, cert.path, err)
		}
		keyPEM, err := os.ReadFile(key.path)
		if err != nil {
			return "", nil, fmt.Errorf("%s: cannot read %s: %w", key.from, key.path, err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return "", nil, fmt.Errorf("client certificate %s with key %s: %w", cert.path, key.path, err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return target, credentials.NewTLS(config), nil
}
