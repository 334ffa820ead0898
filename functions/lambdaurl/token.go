package lambdaurl

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// TokenCookie is the cookie a browser keeps the token in once it opened
// the UI with ?token=.
const TokenCookie = "tracelake-token"

// RequireToken lets through requests that carry token: as
// "Authorization: Bearer <token>" (OTLP exporters, Zipkin reporters and
// Grafana can all send a header), or in the TokenCookie cookie. A browser,
// which cannot add headers to a page it navigates to, opens
// https://<url>/?token=<token> once: the answer sets the cookie (Secure,
// HttpOnly, SameSite=Strict) and redirects to the same address without the
// token, so it does not stay in the address bar or the history.
//
// It protects Function URLs whose AuthType is NONE; with AWS_IAM, AWS checks
// the caller before the function runs and no token is needed.
func RequireToken(h http.Handler, token string) http.Handler {
	want := sha256.Sum256([]byte(token))
	matches := func(got string) bool {
		sum := sha256.Sum256([]byte(got))
		return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, cred, _ := strings.Cut(auth, " ")
			if strings.EqualFold(scheme, "Bearer") && matches(strings.TrimSpace(cred)) {
				h.ServeHTTP(w, r)
				return
			}
		}
		if c, err := r.Cookie(TokenCookie); err == nil && matches(c.Value) {
			h.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		if r.Method == http.MethodGet && q.Has("token") && matches(q.Get("token")) {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: q.Get("token"), Path: "/",
				Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q.Del("token")
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="tracelake"`)
		http.Error(w, "unauthorized: send the token as \"Authorization: Bearer <token>\" (or open /?token=<token> once in a browser)", http.StatusUnauthorized)
	})
}
