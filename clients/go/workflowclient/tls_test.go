package workflowclient_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	workflowv1 "github.com/workflow-manager/workflowd/clients/go/gen/workflow/v1"
	"github.com/workflow-manager/workflowd/clients/go/workflowclient"
)

// clientCN is the client certificate's subject CN, an operator in the
// mutual-TLS daemon's tls_clients.
const clientCN = "go-client"

// noTLSEnv clears the TLS variables of the machine the tests run on.
func noTLSEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{workflowclient.TLSCAEnv, workflowclient.TLSCertEnv, workflowclient.TLSKeyEnv} {
		t.Setenv(name, "")
	}
}

// wantDialError fails unless Dial(addr, opts...) fails with a message
// containing every one of want.
func wantDialError(t *testing.T, addr string, opts []grpc.DialOption, want ...string) {
	t.Helper()
	c, err := workflowclient.Dial(addr, opts...)
	if err == nil {
		_ = c.Close()
		t.Fatalf("Dial(%q) succeeded, want an error with %q", addr, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Dial(%q): %v; want it to contain %q", addr, err, w)
		}
	}
}

func TestTLSSettingsAreCheckedByDial(t *testing.T) {
	noTLSEnv(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv(workflowclient.TLSCAEnv, "/nowhere/ca.pem")
	for _, addr := range []string{"http://h:1", "unix:/run/w.sock"} {
		wantDialError(t, addr, nil, "WORKFLOW_TLS_CA is set", "is not https://host:port")
	}
	// host:port becomes TLS, and then the file is read.
	wantDialError(t, "h:1", nil, "WORKFLOW_TLS_CA: cannot read /nowhere/ca.pem")
	// WithTLS wins over the variable.
	wantDialError(t, "h:1", []grpc.DialOption{workflowclient.WithTLS(notPEM, "", "")},
		"WithTLS caFile: no PEM certificate in "+notPEM)

	noTLSEnv(t)
	wantDialError(t, "https://h:1", []grpc.DialOption{workflowclient.WithTLS("", notPEM, "")},
		"WithTLS certFile is set", "keyFile (WORKFLOW_TLS_KEY)")
	t.Setenv(workflowclient.TLSKeyEnv, notPEM)
	wantDialError(t, "https://h:1", nil, "WORKFLOW_TLS_KEY is set", "certFile (WORKFLOW_TLS_CERT)")
	wantDialError(t, "https://h:1", []grpc.DialOption{workflowclient.WithTLS("", notPEM, "")},
		"client certificate "+notPEM)

	// Without files, as before; https:// uses the system's roots.
	noTLSEnv(t)
	for _, addr := range []string{"h:1", "http://h:1", "https://h:1", "unix:/run/w.sock"} {
		c, err := workflowclient.Dial(addr)
		if err != nil {
			t.Errorf("Dial(%q): %v", addr, err)
			continue
		}
		_ = c.Close()
	}
}

// pki is a private CA with a server certificate for 127.0.0.1 and localhost
// and a client certificate for clientCN, as PEM files.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	serial := int64(0)
	template := func(cn string) *x509.Certificate {
		serial++
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
	}
	caKey := newKey()
	caTemplate := template("test CA")
	caTemplate.IsCA, caTemplate.BasicConstraintsValid = true, true
	caTemplate.KeyUsage = x509.KeyUsageCertSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string, leaf *x509.Certificate) (string, string) {
		key := newKey()
		leaf.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "PRIVATE KEY", keyDER)
	}
	server := template("localhost")
	server.DNSNames, server.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
	server.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	client := template(clientCN)
	client.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	p := pki{ca: write("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = issue("server", server)
	p.clientCert, p.clientKey = issue("client", client)
	return p
}

// startTLSDaemon runs $WORKFLOWD_BIN with TLS on a free loopback port and
// returns its host:port; skipped when WORKFLOWD_BIN is unset. The daemon
// prints `listening on 127.0.0.1:PORT` once the port is bound: that line,
// awaited with a deadline, is the readiness signal.
func startTLSDaemon(t *testing.T, p pki, extra ...string) string {
	t.Helper()
	bin := os.Getenv("WORKFLOWD_BIN")
	if bin == "" {
		t.Skip("WORKFLOWD_BIN is not set; the TLS tests start their own workflowd from it")
	}
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "workflowd.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
		"--tls-cert", p.serverCert, "--tls-key", p.serverKey,
	}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("WORKFLOWD_BIN=%s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = log.Close()
	})

	first := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		line := ""
		if scanner.Scan() {
			line = scanner.Text()
		}
		first <- line
		// Read on until EOF so the daemon never blocks on a full pipe.
		for scanner.Scan() {
		}
	}()
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			logText, _ := os.ReadFile(log.Name())
			t.Fatalf("workflowd's first line is %q, not `listening on ADDR`; its log:\n%s", line, logText)
		}
		return addr
	case <-time.After(60 * time.Second):
		logText, _ := os.ReadFile(log.Name())
		t.Fatalf("workflowd printed no `listening on` line within 60 s; its log:\n%s", logText)
	}
	return ""
}

// tlsContext is the deadline of one live TLS test.
func tlsContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTLSHTTPSAddressWithTheCA(t *testing.T) {
	noTLSEnv(t)
	p := newPKI(t)
	addr := startTLSDaemon(t, p)
	ctx := tlsContext(t)

	if _, err := dialWith(t, "https://"+addr, workflowclient.WithTLS(p.ca, "", "")).Status(ctx); err != nil {
		t.Errorf("Status over https:// with WithTLS(ca): %v", err)
	}
	// The variable is the default, and makes host:port TLS too.
	t.Setenv(workflowclient.TLSCAEnv, p.ca)
	if _, err := dialWith(t, addr).Status(ctx); err != nil {
		t.Errorf("Status over host:port with $WORKFLOW_TLS_CA: %v", err)
	}
	// The private CA is not among the system's roots: no trust, no call.
	noTLSEnv(t)
	_, err := dialWith(t, "https://"+addr).Status(ctx)
	wantCode(t, "Status without the CA", err, codes.Unavailable)
	// Plaintext to a TLS port fails too.
	_, err = dialWith(t, addr).Status(ctx)
	wantCode(t, "Status in plaintext", err, codes.Unavailable)
}

func TestTLSClientCertificateIsTheCallersIdentity(t *testing.T) {
	noTLSEnv(t)
	p := newPKI(t)
	config := filepath.Join(t.TempDir(), "workflowd.toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, "[tls_clients.%q]\nrole = \"operator\"\n", clientCN), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startTLSDaemon(t, p, "--tls-client-ca", p.ca, "--config", config)
	ctx := tlsContext(t)

	operator := dialWith(t, "https://"+addr, workflowclient.WithTLS(p.ca, p.clientCert, p.clientKey))
	// The daemon listens before discovery has probed every program.
	for {
		workflows, _, err := operator.ListWorkflows(ctx)
		if err != nil {
			t.Fatalf("ListWorkflows with the client certificate: %v", err)
		}
		if slices.ContainsFunc(workflows, func(w *workflowv1.Workflow) bool { return w.GetId() == "hello" }) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the bundled hello workflow was not discovered in time")
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Execute needs the operator role, which only the certificate's CN gives.
	exec, err := operator.ExecuteAndWait(ctx, "hello", map[string]any{"name": "tls"})
	if err != nil {
		t.Fatalf("ExecuteAndWait(hello) with the client certificate: %v", err)
	}
	if exec.GetState() != workflowv1.ExecutionState_EXECUTION_STATE_SUCCEEDED {
		t.Errorf("hello ended %v, want SUCCEEDED", exec.GetState())
	}

	// Without a client certificate the daemon ends the handshake.
	_, err = dialWith(t, "https://"+addr, workflowclient.WithTLS(p.ca, "", "")).Status(ctx)
	wantCode(t, "Status without a client certificate", err, codes.Unavailable)

	// All three from the variables.
	t.Setenv(workflowclient.TLSCAEnv, p.ca)
	t.Setenv(workflowclient.TLSCertEnv, p.clientCert)
	t.Setenv(workflowclient.TLSKeyEnv, p.clientKey)
	if _, err := dialWith(t, addr).Execute(ctx, "hello", map[string]any{"name": "tls env"}); err != nil {
		t.Errorf("Execute(hello) with the certificate from the variables: %v", err)
	}
}
