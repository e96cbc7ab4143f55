package workflowclient

import (
	"context"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TokenEnv is the environment variable every workflowd client (wfctl,
// workflow-mcp, the Go, Python and TypeScript clients) reads the API token
// from when none is given.
const TokenEnv = "WORKFLOW_TOKEN"

// tokenOption is what WithToken returns: Dial reads it, gRPC ignores it.
type tokenOption struct {
	grpc.EmptyDialOption
	token string
}

// WithToken makes Dial send the API token (wft_<id>_<secret>) as
// `authorization: Bearer <token>` on every call, in place of
// $WORKFLOW_TOKEN. An empty token sends none, even when WORKFLOW_TOKEN is
// set. A daemon started with `--auth tokens` answers UNAUTHENTICATED without
// one and PERMISSION_DENIED when its role is too low for the call.
func WithToken(token string) grpc.DialOption {
	return tokenOption{token: token}
}

// TokenCredentials returns per-RPC credentials that send the API token as
// `authorization: Bearer <token>`, for a connection made without Dial:
// grpc.NewClient(target, ..., grpc.WithPerRPCCredentials(TokenCredentials(t))),
// then New.
func TokenCredentials(token string) credentials.PerRPCCredentials {
	return bearerToken("Bearer " + strings.TrimSpace(token))
}

// bearerToken is the `authorization` header value itself.
type bearerToken string

// GetRequestMetadata is the header every call carries.
// An empty token sends no header at all: the daemon then says "no API
// token" rather than "malformed".
func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if strings.TrimSpace(strings.TrimPrefix(string(b), "Bearer")) == "" {
		return map[string]string{}, nil
	}
	return map[string]string{"authorization": string(b)}, nil
}

// RequireTransportSecurity is false: workflowd's port may be plaintext (on
// loopback, or behind a TLS proxy), and gRPC would otherwise refuse to send
// the token at all. Over a network, use TLS: an https:// address or WithTLS.
func (bearerToken) RequireTransportSecurity() bool { return false }

// dialToken is the token Dial sends: the last WithToken of opts, else
// $WORKFLOW_TOKEN; "" for none. Surrounding blanks (a file's newline) are
// dropped; a token that cannot be a header value is an error naming where
// it came from.
func dialToken(opts []grpc.DialOption) (string, error) {
	token, from := os.Getenv(TokenEnv), TokenEnv
	for _, opt := range opts {
		if t, ok := opt.(tokenOption); ok {
			token, from = t.token, "WithToken"
		}
	}
	token = strings.TrimSpace(token)
	for _, r := range token {
		if r < 0x21 || r > 0x7e {
			return "", fmt.Errorf("%s: an API token is printable ASCII (wft_<id>_<secret>)", from)
		}
	}
	return token, nil
}
