package httpquery

import (
	"fmt"
	"net/http"

	"github.com/tracelake/tracelake/storage/tenant"
)

// DefaultTenantHeader is the header naming the tenant, as in Cortex, Loki,
// Tempo and Grafana's data sources.
const DefaultTenantHeader = "X-Scope-OrgID"

// Tenants finds the tenant a request is for.
type Tenants struct {
	// Header names the request header carrying the tenant ID. Default
	// DefaultTenantHeader.
	Header string
	// Default is the tenant of requests without Header. Default
	// tenant.Default.
	Default string
}

// WithDefaults returns t with its empty fields set to their defaults.
func (t Tenants) WithDefaults() Tenants {
	if t.Header == "" {
		t.Header = DefaultTenantHeader
	}
	if t.Default == "" {
		t.Default = tenant.Default
	}
	return t
}

// Validate reports whether t, once defaulted, can serve requests.
func (t Tenants) Validate() error {
	t = t.WithDefaults()
	if err := tenant.Validate(t.Default); err != nil {
		return fmt.Errorf("default tenant: %w", err)
	}
	return nil
}

// Of returns the tenant of r: the value of the tenant header when present,
// the default tenant otherwise. A header that is not a valid tenant ID, or
// given more than once, is a ParamError naming the header. A default
// tenant that is not valid (Validate was not called) is an internal error.
// Empty fields of t take their defaults.
func (t Tenants) Of(r *http.Request) (string, error) {
	t = t.WithDefaults()
	values := r.Header.Values(t.Header)
	switch len(values) {
	case 0:
		if err := tenant.Validate(t.Default); err != nil {
			return "", fmt.Errorf("misconfigured default tenant: %w", err)
		}
		return t.Default, nil
	case 1:
		if err := tenant.Validate(values[0]); err != nil {
			return "", ParamErrorf("invalid %s header: %v", t.Header, err)
		}
		return values[0], nil
	default:
		return "", ParamErrorf("invalid %s header: %d values given, one tenant is allowed", t.Header, len(values))
	}
}
