package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/itilkit/itil"
)

// Principal is who a request acts as: the SDK's actor, the roles it
// holds (what the role matrix lets it do), and the tenant whose store it
// works in.
type Principal struct {
	Actor  itil.Actor
	Roles  []string
	Tenant string
}

// Authenticator finds the principal of a request; an error means the
// request proves no identity (401).
type Authenticator func(r *http.Request) (*Principal, error)

// errUnauthenticated is what an Authenticator returns for a request
// without a credential it accepts.
var errUnauthenticated = errors.New("no valid bearer token")

// StaticTokens authenticates requests by an Authorization: Bearer token
// that names one of tokens: the example's stand-in for a vendor's identity
// provider (OIDC, mTLS, API keys), which plugs in the same way.
func StaticTokens(tokens map[string]Principal) Authenticator {
	return func(r *http.Request) (*Principal, error) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return nil, errUnauthenticated
		}
		for t, p := range tokens {
			// Constant time: a token is a secret.
			if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				return &p, nil
			}
		}
		return nil, errUnauthenticated
	}
}

type principalKey struct{}

// Authenticate runs next with the request's principal in its context, or
// answers 401 with problem details and a WWW-Authenticate challenge.
func Authenticate(a Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="itil"`)
			writeProblem(w, Problem{Type: "urn:itil:problem:unauthenticated", Title: "Authentication required",
				Status: http.StatusUnauthorized, Detail: err.Error(), Instance: r.URL.Path})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// WithPrincipal returns ctx carrying p, as Authenticate does (for a
// front end that authenticates its own way, such as a console's cookie).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf returns the principal Authenticate put in ctx.
func PrincipalOf(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// Matrix says which commands each role may run: role → "process.command"
// as the processes name their commands to their Authorizer
// ("incident.resolve"), "process.*" for every command of a process, or
// "*" for every command of every process. Commands are named per process
// because processes share names: an incident and a change both close.
type Matrix map[string][]string

// Allows reports whether any of roles may run command of process.
func (m Matrix) Allows(roles []string, process, command string) bool {
	for _, role := range roles {
		cmds := m[role]
		if slices.Contains(cmds, process+"."+command) || slices.Contains(cmds, process+".*") || slices.Contains(cmds, "*") {
			return true
		}
	}
	return false
}

// Authorizer is the process Authorizer the matrix makes: it reads the
// request's principal from the command's context, so one Service serves
// every caller. A principal whose roles do not allow the command is
// refused with itil.ErrForbidden, and so is a command run with no
// principal: a job of the server's own runs as a principal of its own
// (WithPrincipal), so that a context lost on the way fails closed.
func Authorizer[T any](m Matrix, process string) itil.Authorizer[T] {
	return func(ctx context.Context, actor itil.Actor, command string, _ *T) error {
		p, ok := PrincipalOf(ctx)
		if !ok {
			return fmt.Errorf("%w: %s.%s by %s without a principal", itil.ErrForbidden, process, command, actor.ID)
		}
		if !m.Allows(p.Roles, process, command) {
			return fmt.Errorf("%w: %s (roles %s) may not %s.%s", itil.ErrForbidden, actor.ID, strings.Join(p.Roles, ", "), process, command)
		}
		return nil
	}
}
