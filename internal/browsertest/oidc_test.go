package browsertest

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// notesApp is a small app that signs people in with twofold over OpenID
// Connect, with the standard client libraries (coreos/go-oidc and
// x/oauth2): its start page links to a sign-in, and its callback shows
// who signed in and how, from the verified ID token.
type notesApp struct {
	url string
}

func startNotesApp(t *testing.T, srv *server) *notesApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &notesApp{url: "http://" + ln.Addr().String()}
	out, err := exec.Command(binary, "oidc", "client", "add", "--data-dir", srv.dataDir, "--name", "Notes",
		"--redirect-uri", app.url+"/callback").CombinedOutput()
	if err != nil {
		t.Fatalf("oidc client add: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`(?m)^client_id: (\S+)$`).FindSubmatch(out)
	secret := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("oidc client add printed no credentials:\n%s", out)
	}
	provider, err := oidc.NewProvider(context.Background(), srv.base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: string(id[1]), ClientSecret: string(secret[1]), Endpoint: provider.Endpoint(),
		RedirectURL: app.url + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: conf.ClientID})
	var mu sync.Mutex
	pending := map[string]string{} // state → PKCE verifier
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Notes</title></head><body><main>%s</main></body></html>`, body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<h1>Notes</h1><p><a href="/login">Sign in with twofold</a></p>`)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		state, v := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		mu.Lock()
		pending[state] = v
		mu.Unlock()
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("acr_values", "aal2")), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v, ok := pending[r.URL.Query().Get("state")]
		delete(pending, r.URL.Query().Get("state"))
		mu.Unlock()
		if !ok {
			page(w, "<h1>Unknown state</h1>")
			return
		}
		tok, err := conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			page(w, "<h1>Exchange failed</h1><p>"+html.EscapeString(err.Error())+"</p>")
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			page(w, "<h1>Bad ID token</h1><p>"+html.EscapeString(err.Error())+"</p>")
			return
		}
		var c struct {
			Email string   `json:"email"`
			ACR   string   `json:"acr"`
			AMR   []string `json:"amr"`
		}
		_ = idt.Claims(&c)
		page(w, fmt.Sprintf("<h1>Welcome to Notes</h1><p>Signed in as %s (%s: %s)</p>",
			html.EscapeString(c.Email), html.EscapeString(c.ACR), html.EscapeString(strings.Join(c.AMR, " "))))
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return app
}

// A person with 2FA opens an app that signs in with twofold: the app sends
// them to twofold, which names the app, asks for the password and the
// code, and sends them back signed in; the app's ID token says aal2.
func TestSignInToAnApp(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	notes := startNotesApp(t, srv)
	b := openTab(t, srv)
	b.signUp(userPhone)
	app := b.enableTwoFactor()
	b.signOut()

	run(b, "open the app", chromedp.NavigateResponse(notes.url+"/"))
	b.settle()
	b.click("Sign in with twofold")
	b.wantPage(headingSignIn)
	b.wantText("Sign in to continue to Notes.")
	b.signIn(userPassword)
	b.wantPage(headingCode)
	b.wantText("Signing in to Notes.")
	b.fill(labelAppCode, app.code(t))
	b.click("Sign in")
	if p := b.page(); p.H1 != "Welcome to Notes" || !strings.Contains(p.Main, "Signed in as "+userEmail+" (aal2: pwd otp mfa)") {
		t.Fatalf("back at the app: heading %q at %s, text %q; want Welcome to Notes, signed in as %s with aal2", p.H1, p.Path, p.Main, userEmail)
	}
}
