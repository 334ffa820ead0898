package httpquery

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTenantsOf(t *testing.T) {
	tests := []struct {
		name       string
		tenants    Tenants
		header     []string
		want       string
		wantStatus int // of the error, 0 for none
		wantMsg    string
	}{
		{name: "zero value: default header and tenant", want: "single-tenant"},
		{name: "configured default", tenants: Tenants{Default: "acme"}, want: "acme"},
		{name: "header", header: []string{"X-Scope-OrgID", "team-a"}, want: "team-a"},
		{name: "header any case", header: []string{"x-scope-orgid", "team-b"}, want: "team-b"},
		{name: "custom header", tenants: Tenants{Header: "X-Tenant"}, header: []string{"X-Tenant", "t1", "X-Scope-OrgID", "t2"}, want: "t1"},
		{name: "custom header ignores the default one", tenants: Tenants{Header: "X-Tenant"}, header: []string{"X-Scope-OrgID", "t2"}, want: "single-tenant"},
		{name: "invalid", header: []string{"X-Scope-OrgID", "a/b"}, wantStatus: 400,
			wantMsg: `invalid X-Scope-OrgID header: tenant ID "a/b" has a character '/' that is not allowed (use letters, digits and !_.*'()-)`},
		{name: "empty", tenants: Tenants{Header: "X-Tenant"}, header: []string{"X-Tenant", ""}, wantStatus: 400,
			wantMsg: `invalid X-Tenant header: tenant ID is empty`},
		{name: "two values", header: []string{"X-Scope-OrgID", "a", "X-Scope-OrgID", "a"}, wantStatus: 400,
			wantMsg: "invalid X-Scope-OrgID header: 2 values given, one tenant is allowed"},
		{name: "misconfigured default", tenants: Tenants{Default: "a b"}, wantStatus: 500, wantMsg: "internal error"},
		{name: "misconfigured default unused", tenants: Tenants{Default: "a b"}, header: []string{"X-Scope-OrgID", "ok"}, want: "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Add(tt.header[i], tt.header[i+1])
			}
			got, err := tt.tenants.Of(r)
			if tt.wantStatus == 0 {
				if err != nil || got != tt.want {
					t.Errorf("Of = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Of = %q, want an error", got)
			}
			status, msg := Classify(err)
			if status != tt.wantStatus || msg != tt.wantMsg {
				t.Errorf("error %v classified %d %q, want %d %q", err, status, msg, tt.wantStatus, tt.wantMsg)
			}
		})
	}
}

func TestTenantsValidate(t *testing.T) {
	if err := (Tenants{}).Validate(); err != nil {
		t.Errorf("zero Tenants: %v", err)
	}
	if err := (Tenants{Header: "X-Tenant", Default: "acme"}).Validate(); err != nil {
		t.Errorf("valid Tenants: %v", err)
	}
	err := (Tenants{Default: ".."}).Validate()
	var pe *ParamError
	if err == nil || errors.As(err, &pe) || err.Error() != `default tenant: tenant ID ".." is not allowed` {
		t.Errorf("invalid default tenant: %v, want a configuration error naming it", err)
	}
	if got := (Tenants{}).WithDefaults(); got != (Tenants{Header: DefaultTenantHeader, Default: "single-tenant"}) {
		t.Errorf("WithDefaults = %+v", got)
	}
}
