package trace

import "context"

type scopeKey struct{}

// Scope says which build and step an operation belongs to, so events the
// engine emits deep inside (container created, snapshot taken) carry the
// build ID and step number of the builder that asked for them.
type Scope struct {
	Build string
	Step  int
}

// WithScope returns a context carrying the scope.
func WithScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// ScopeFrom returns the scope in ctx, if any.
func ScopeFrom(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok
}

// Apply fills the event's Build and Step from the scope where they are unset.
func (s Scope) Apply(e *Event) {
	if e.Build == "" {
		e.Build = s.Build
	}
	if e.Step == 0 {
		e.Step = s.Step
	}
}
