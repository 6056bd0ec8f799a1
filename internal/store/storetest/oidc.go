package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func oidcClient(id, name string) *account.OIDCClient {
	return &account.OIDCClient{ID: id, Name: name, SecretHash: "mac:" + id,
		RedirectURIs: []string{"https://" + id + ".example/callback", "http://127.0.0.1:8080/cb"}, CreatedAt: t0, IDTokenAlgorithm: "ES256"}
}

func oidcRequest(id, clientID string) *account.OIDCAuthRequest {
	return &account.OIDCAuthRequest{ID: id, ClientID: clientID, Params: `{"scope":"openid","state":"s-` + id + `"}`,
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
}

func oidcGrant(clientID string, u *account.User) *account.OIDCGrant {
	return &account.OIDCGrant{ClientID: clientID, UserID: u.ID, Scopes: []string{"openid", "email", "offline_access"},
		AMR: []string{"pwd", "otp"}, AuthTime: t0, SecurityVersion: u.SecurityVersion, CreatedAt: t0}
}

func accessToken(id string, grantID int64) *account.OIDCAccessToken {
	return &account.OIDCAccessToken{ID: id, GrantID: grantID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
}

func refreshToken(hash string, grantID int64) *account.OIDCRefreshToken {
	return &account.OIDCRefreshToken{TokenHash: hash, GrantID: grantID, CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
}

// mustOK fails the test unless a setup write succeeded.
func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v", what, err)
	}
}

// rowCounter is what both stores offer tests beyond account.Store.
type rowCounter interface {
	RowCounts(ctx context.Context) (map[string]int, error)
}

func rowCount(t *testing.T, s account.Store, table string) int {
	t.Helper()
	c, ok := s.(rowCounter)
	if !ok {
		t.Fatal("the store cannot count its rows")
	}
	counts, err := c.RowCounts(ctx)
	if err != nil {
		t.Fatalf("RowCounts = %v", err)
	}
	n, ok := counts[table]
	if !ok {
		t.Fatalf("RowCounts has no %s", table)
	}
	return n
}

// Clients: stored and read back as they were, a taken id refused, listed
// by name; only a confidential client's secret can be replaced.
func testOIDCClients(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	web := oidcClient("c-web", "Wiki")
	web.PostLogoutRedirectURIs = []string{"https://c-web.example/bye"}
	web.RequireTwoFactor = true
	cli := &account.OIDCClient{ID: "c-cli", Name: "Command line", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, CreatedAt: t0.Add(time.Minute)}
	for _, c := range []*account.OIDCClient{web, cli} {
		mustOK(t, "CreateOIDCClient("+c.ID+")", a.CreateOIDCClient(ctx, c))
	}
	if err := a.CreateOIDCClient(ctx, oidcClient("c-web", "Other")); !errors.Is(err, account.ErrConflict) {
		t.Errorf("CreateOIDCClient(taken id) = %v; want ErrConflict", err)
	}
	got, err := s.OIDCClient(ctx, "c-web")
	if err != nil || !reflect.DeepEqual(got, web) {
		t.Errorf("OIDCClient(c-web) = %+v, %v; want %+v", got, err, web)
	}
	got, err = s.OIDCClient(ctx, "c-cli")
	if err != nil || !reflect.DeepEqual(got, cli) {
		t.Errorf("OIDCClient(c-cli) = %+v, %v; want %+v", got, err, cli)
	}
	if _, err := s.OIDCClient(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCClient(unknown) = %v; want ErrNotFound", err)
	}
	list, err := s.OIDCClients(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "c-cli" || list[1].ID != "c-web" {
		t.Errorf("OIDCClients = %v, %v; want c-cli (Command line) then c-web (Wiki)", clientIDs(list), err)
	}

	if err := a.SetOIDCClientSecret(ctx, "c-web", "mac:new"); err != nil {
		t.Errorf("SetOIDCClientSecret(confidential) = %v", err)
	}
	if got, _ := s.OIDCClient(ctx, "c-web"); got == nil || got.SecretHash != "mac:new" {
		t.Errorf("after SetOIDCClientSecret: %+v; want secret hash mac:new", got)
	}
	for _, id := range []string{"c-cli", "nope"} {
		if err := a.SetOIDCClientSecret(ctx, id, "mac:x"); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("SetOIDCClientSecret(%s) = %v; want ErrNotFound", id, err)
		}
	}
	if got, _ := s.OIDCClient(ctx, "c-cli"); got == nil || got.SecretHash != "" {
		t.Errorf("public client after a refused SetOIDCClientSecret: %+v; want no secret", got)
	}

	gone, err := a.DeleteOIDCClient(ctx, "c-cli")
	if err != nil || !reflect.DeepEqual(gone, cli) {
		t.Errorf("DeleteOIDCClient(c-cli) = %+v, %v; want %+v", gone, err, cli)
	}
	if _, err := a.DeleteOIDCClient(ctx, "c-cli"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("DeleteOIDCClient(again) = %v; want ErrNotFound", err)
	}
	if _, err := s.OIDCClient(ctx, "c-cli"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCClient(deleted) = %v; want ErrNotFound", err)
	}
}

func clientIDs(cs []*account.OIDCClient) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// An authorization request is satisfied once, gets its code once, and is
// deleted (the code exchanged) once, only with its code and in time.
func testOIDCAuthRequests(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	mustOK(t, "CreateOIDCClient", a.CreateOIDCClient(ctx, oidcClient("c1", "Wiki")))
	r := oidcRequest("r1", "c1")
	mustOK(t, "CreateOIDCAuthRequest", a.CreateOIDCAuthRequest(ctx, r))
	got, err := s.OIDCAuthRequest(ctx, "r1")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("OIDCAuthRequest(r1) = %+v, %v; want %+v, unsatisfied", got, err, r)
	}
	if _, err := s.OIDCAuthRequest(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCAuthRequest(unknown) = %v; want ErrNotFound", err)
	}

	during, expired := t0.Add(time.Minute), r.ExpiresAt
	authTime := t0.Add(30 * time.Second)
	if ok, err := a.SetOIDCAuthCode(ctx, "r1", "code-early", during); ok || err != nil {
		t.Errorf("SetOIDCAuthCode(unsatisfied) = %v, %v; want false", ok, err)
	}
	for _, tt := range []struct {
		name   string
		id     string
		userID int64
		at     time.Time
		want   bool
	}{
		{"unknown", "nope", ana.ID, during, false},
		{"expired", "r1", ana.ID, expired, false},
		{"in time", "r1", ana.ID, during, true},
		{"again, by another account", "r1", bo.ID, during, false},
	} {
		ok, err := a.SatisfyOIDCAuthRequest(ctx, tt.id, tt.userID, 7, "session-"+tt.id, authTime, []string{"pwd", "otp"}, tt.at)
		if err != nil || ok != tt.want {
			t.Errorf("SatisfyOIDCAuthRequest(%s) = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	got, err = s.OIDCAuthRequest(ctx, "r1")
	if err != nil || got.UserID != ana.ID || got.SecurityVersion != 7 || !got.AuthTime.Equal(authTime) ||
		!reflect.DeepEqual(got.AMR, []string{"pwd", "otp"}) || got.CodeHash != "" || got.SessionHash != "session-r1" {
		t.Errorf("OIDCAuthRequest(satisfied) = %+v, %v; want Ana's sign-in at version 7 in session-r1, no code yet", got, err)
	}

	for _, tt := range []struct {
		name, hash string
		at         time.Time
		want       bool
	}{
		{"expired", "code-late", expired, false},
		{"in time", "code-1", during, true},
		{"again", "code-2", during, false},
	} {
		ok, err := a.SetOIDCAuthCode(ctx, "r1", tt.hash, tt.at)
		if err != nil || ok != tt.want {
			t.Errorf("SetOIDCAuthCode(%s) = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	got, err = s.OIDCAuthRequestByCode(ctx, "code-1")
	if err != nil || got.ID != "r1" || got.CodeHash != "code-1" || got.UserID != ana.ID {
		t.Errorf("OIDCAuthRequestByCode(code-1) = %+v, %v; want r1", got, err)
	}
	for _, h := range []string{"code-2", ""} {
		if _, err := s.OIDCAuthRequestByCode(ctx, h); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("OIDCAuthRequestByCode(%q) = %v; want ErrNotFound", h, err)
		}
	}

	for _, tt := range []struct {
		name, hash string
		at         time.Time
		want       bool
	}{
		{"the wrong code", "code-2", during, false},
		{"after expiry", "code-1", expired, false},
		{"its code, in time", "code-1", during, true},
		{"again", "code-1", during, false},
	} {
		ok, err := a.DeleteOIDCAuthRequest(ctx, "r1", tt.hash, tt.at)
		if err != nil || ok != tt.want {
			t.Errorf("DeleteOIDCAuthRequest(%s) = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	if _, err := s.OIDCAuthRequest(ctx, "r1"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCAuthRequest(exchanged) = %v; want ErrNotFound", err)
	}

	// Without a code hash (a request abandoned), only expiry is checked.
	mustOK(t, "CreateOIDCAuthRequest(r2)", a.CreateOIDCAuthRequest(ctx, oidcRequest("r2", "c1")))
	if ok, err := a.DeleteOIDCAuthRequest(ctx, "r2", "", expired); ok || err != nil {
		t.Errorf("DeleteOIDCAuthRequest(r2, no code, expired) = %v, %v; want false", ok, err)
	}
	if ok, err := a.DeleteOIDCAuthRequest(ctx, "r2", "", during); !ok || err != nil {
		t.Errorf("DeleteOIDCAuthRequest(r2, no code) = %v, %v; want true", ok, err)
	}
}

// A grant's tokens: read with the grant and the account as it is now; a
// refresh token used once, only in time and while its grant is in force;
// a grant revoked once, taking its access tokens with it.
func testOIDCGrantsAndTokens(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana := enabledUser(t, s, "ana@example.com")
	mustOK(t, "CreateOIDCClient", a.CreateOIDCClient(ctx, oidcClient("c1", "Wiki")))
	g := oidcGrant("c1", ana)
	mustOK(t, "CreateOIDCGrant", a.CreateOIDCGrant(ctx, g))
	if g.ID == 0 {
		t.Fatal("CreateOIDCGrant left ID 0")
	}
	other := oidcGrant("c1", ana)
	mustOK(t, "CreateOIDCGrant(other)", a.CreateOIDCGrant(ctx, other))
	if other.ID == g.ID {
		t.Fatalf("two grants with id %d", g.ID)
	}
	at := accessToken("at1", g.ID)
	rt1, rt2, rtOther := refreshToken("rt1", g.ID), refreshToken("rt2", g.ID), refreshToken("rt-other", other.ID)
	mustOK(t, "CreateOIDCAccessToken", a.CreateOIDCAccessToken(ctx, at))
	mustOK(t, "CreateOIDCAccessToken(other)", a.CreateOIDCAccessToken(ctx, accessToken("at-other", other.ID)))
	for _, r := range []*account.OIDCRefreshToken{rt1, rt2, rtOther} {
		mustOK(t, "CreateOIDCRefreshToken("+r.TokenHash+")", a.CreateOIDCRefreshToken(ctx, r))
	}

	gotAT, h, err := s.OIDCAccessToken(ctx, "at1")
	if err != nil || !reflect.DeepEqual(gotAT, at) {
		t.Fatalf("OIDCAccessToken(at1) = %+v, %v; want %+v", gotAT, err, at)
	}
	if !reflect.DeepEqual(h.Grant, *g) {
		t.Errorf("OIDCAccessToken(at1) grant = %+v; want %+v", h.Grant, *g)
	}
	if want := reload(t, s, ana.ID); !reflect.DeepEqual(&h.User, want) || !h.User.TwoFactorEnabled() {
		t.Errorf("OIDCAccessToken(at1) user = %+v; want %+v (as UserByID reads it, 2FA on)", h.User, want)
	}
	gotRT, h, err := s.OIDCRefreshToken(ctx, "rt1")
	if err != nil || !reflect.DeepEqual(gotRT, rt1) || !reflect.DeepEqual(h.Grant, *g) || h.User.ID != ana.ID || h.User.Email != ana.Email {
		t.Fatalf("OIDCRefreshToken(rt1) = %+v, %+v, %v; want %+v of grant %d, Ana", gotRT, h, err, rt1, g.ID)
	}
	if _, _, err := s.OIDCAccessToken(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCAccessToken(unknown) = %v; want ErrNotFound", err)
	}
	if _, _, err := s.OIDCRefreshToken(ctx, "nope"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCRefreshToken(unknown) = %v; want ErrNotFound", err)
	}

	// The account as it is now: a password change (a new security
	// version), a new role and a deactivation show in the next read.
	mustOK(t, "ChangePasswordHash", a.ChangePasswordHash(ctx, ana.ID, ana.SecurityVersion, "$argon2id$new"))
	mustOK(t, "SetRole", a.SetRole(ctx, ana.ID, account.RoleAdmin))
	mustOK(t, "SetDeactivated", a.SetDeactivated(ctx, ana.ID, t0.Add(time.Hour)))
	now := reload(t, s, ana.ID)
	for _, read := range []struct {
		name string
		fn   func() (*account.OIDCGrantHolder, error)
	}{
		{"OIDCAccessToken", func() (*account.OIDCGrantHolder, error) { _, h, err := s.OIDCAccessToken(ctx, "at1"); return h, err }},
		{"OIDCRefreshToken", func() (*account.OIDCGrantHolder, error) { _, h, err := s.OIDCRefreshToken(ctx, "rt1"); return h, err }},
	} {
		h, err := read.fn()
		if err != nil || h.User.SecurityVersion != now.SecurityVersion || h.User.SecurityVersion == ana.SecurityVersion ||
			h.User.Role != account.RoleAdmin || !h.User.DeactivatedAt.Equal(t0.Add(time.Hour)) || h.Grant.SecurityVersion != ana.SecurityVersion {
			t.Errorf("%s after the account changed = %+v, %v; want the user at version %d, admin, deactivated; the grant still at %d",
				read.name, h, err, now.SecurityVersion, ana.SecurityVersion)
		}
	}

	used := t0.Add(time.Hour)
	for _, tt := range []struct {
		name, hash string
		at         time.Time
		want       bool
	}{
		{"unknown", "nope", used, false},
		{"expired", "rt1", rt1.ExpiresAt, false},
		{"in time", "rt1", used, true},
		{"again", "rt1", used.Add(time.Minute), false},
	} {
		ok, err := a.UseOIDCRefreshToken(ctx, tt.hash, tt.at)
		if err != nil || ok != tt.want {
			t.Errorf("UseOIDCRefreshToken(%s) = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	if gotRT, _, err := s.OIDCRefreshToken(ctx, "rt1"); err != nil || !gotRT.UsedAt.Equal(used) {
		t.Errorf("OIDCRefreshToken(rt1) after its use = %+v, %v; want used at %s", gotRT, err, used)
	}

	revoked := t0.Add(2 * time.Hour)
	for _, tt := range []struct {
		name string
		id   int64
		want bool
	}{
		{"unknown", g.ID + other.ID + 1000, false},
		{"in force", g.ID, true},
		{"again", g.ID, false},
	} {
		ok, err := a.RevokeOIDCGrant(ctx, tt.id, revoked)
		if err != nil || ok != tt.want {
			t.Errorf("RevokeOIDCGrant(%s) = %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
	if _, _, err := s.OIDCAccessToken(ctx, "at1"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCAccessToken(at1) after its grant was revoked = %v; want ErrNotFound", err)
	}
	if ok, err := a.UseOIDCRefreshToken(ctx, "rt2", revoked.Add(time.Minute)); ok || err != nil {
		t.Errorf("UseOIDCRefreshToken(rt2) after its grant was revoked = %v, %v; want false", ok, err)
	}
	// Still readable, so that a reuse can be told apart from garbage.
	if gotRT, h, err := s.OIDCRefreshToken(ctx, "rt2"); err != nil || !gotRT.UsedAt.IsZero() || !h.Grant.RevokedAt.Equal(revoked) {
		t.Errorf("OIDCRefreshToken(rt2) after the revocation = %+v, %+v, %v; want unused, its grant revoked at %s", gotRT, h, err, revoked)
	}
	// The other grant is untouched.
	if _, h, err := s.OIDCAccessToken(ctx, "at-other"); err != nil || !h.Grant.RevokedAt.IsZero() {
		t.Errorf("OIDCAccessToken(at-other) = %+v, %v; want it, in force", h, err)
	}
	if ok, err := a.UseOIDCRefreshToken(ctx, "rt-other", revoked); !ok || err != nil {
		t.Errorf("UseOIDCRefreshToken(rt-other) = %v, %v; want true", ok, err)
	}
	if ok, err := a.DeleteOIDCAccessToken(ctx, "at-other"); !ok || err != nil {
		t.Errorf("DeleteOIDCAccessToken(at-other) = %v, %v; want true", ok, err)
	}
	if ok, err := a.DeleteOIDCAccessToken(ctx, "at-other"); ok || err != nil {
		t.Errorf("DeleteOIDCAccessToken(again) = %v, %v; want false", ok, err)
	}
}

// The subject is set once: a second call returns the first.
func testOIDCSubjects(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana, bo := newUser(t, s, "ana@example.com"), newUser(t, s, "bo@example.com")
	if _, err := s.OIDCSubject(ctx, ana.ID); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("OIDCSubject(none yet) = %v; want ErrNotFound", err)
	}
	for _, tt := range []struct {
		userID         int64
		subject, wants string
	}{
		{ana.ID, "sub-ana", "sub-ana"},
		{ana.ID, "sub-ana-2", "sub-ana"},
		{bo.ID, "sub-bo", "sub-bo"},
	} {
		got, err := a.SetOIDCSubject(ctx, tt.userID, tt.subject)
		if err != nil || got != tt.wants {
			t.Errorf("SetOIDCSubject(%d, %q) = %q, %v; want %q", tt.userID, tt.subject, got, err, tt.wants)
		}
	}
	if got, err := s.OIDCSubject(ctx, ana.ID); err != nil || got != "sub-ana" {
		t.Errorf("OIDCSubject(Ana) = %q, %v; want sub-ana", got, err)
	}
	if got, err := s.OIDCSubject(ctx, bo.ID); err != nil || got != "sub-bo" {
		t.Errorf("OIDCSubject(Bo) = %q, %v; want sub-bo", got, err)
	}
	// Concurrent first sign-ins agree on one subject.
	cy := newUser(t, s, "cy@example.com")
	var mu sync.Mutex
	seen := map[string]bool{}
	concurrently(t, 10, func(i int) (bool, error) {
		got, err := AutoCommit(s).SetOIDCSubject(ctx, cy.ID, fmt.Sprintf("sub-cy-%d", i))
		mu.Lock()
		defer mu.Unlock()
		seen[got] = true
		return err == nil, err
	})
	if len(seen) != 1 {
		t.Errorf("10 concurrent SetOIDCSubject returned %d subjects (%v); want 1", len(seen), seen)
	}
}

// One active key per algorithm; retiring makes room; retired keys are
// listed while they were retired after the time asked, newest first.
func testOIDCSigningKeys(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	key := func(id, alg string, created time.Time) *account.OIDCSigningKey {
		return &account.OIDCSigningKey{ID: id, Algorithm: alg, Sealed: account.SealedSecret{KeyID: "server-1", Ciphertext: []byte(id)}, CreatedAt: created}
	}
	k1, k2, k3 := key("k1", "RS256", t0), key("k2", "RS256", t0.Add(time.Minute)), key("k3", "ES256", t0.Add(2*time.Minute))
	for _, tt := range []struct {
		k    *account.OIDCSigningKey
		want bool
	}{{k1, true}, {k2, false}, {k3, true}} {
		ok, err := a.CreateOIDCSigningKey(ctx, tt.k)
		if err != nil || ok != tt.want {
			t.Errorf("CreateOIDCSigningKey(%s %s) = %v, %v; want %v", tt.k.ID, tt.k.Algorithm, ok, err, tt.want)
		}
	}
	keys, err := s.OIDCSigningKeys(ctx, t0)
	if err != nil || len(keys) != 2 || !reflect.DeepEqual(keys[0], k3) || !reflect.DeepEqual(keys[1], k1) {
		t.Fatalf("OIDCSigningKeys = %v, %v; want k3 then k1", keyIDs(keys), err)
	}

	retired := t0.Add(time.Hour)
	if n, err := a.RetireOIDCSigningKeys(ctx, retired); err != nil || n != 2 {
		t.Errorf("RetireOIDCSigningKeys = %d, %v; want 2", n, err)
	}
	if n, err := a.RetireOIDCSigningKeys(ctx, retired.Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("RetireOIDCSigningKeys(again) = %d, %v; want 0", n, err)
	}
	k4 := key("k4", "RS256", retired)
	if ok, err := a.CreateOIDCSigningKey(ctx, k4); !ok || err != nil {
		t.Errorf("CreateOIDCSigningKey(k4) after the retirement = %v, %v; want true", ok, err)
	}
	if ok, err := a.CreateOIDCSigningKey(ctx, key("k5", "RS256", retired.Add(time.Second))); ok || err != nil {
		t.Errorf("CreateOIDCSigningKey(k5) beside k4 = %v, %v; want false", ok, err)
	}
	for _, tt := range []struct {
		after time.Time
		want  []string
	}{
		{retired.Add(-time.Millisecond), []string{"k4", "k3", "k1"}},
		{retired, []string{"k4"}},
	} {
		keys, err := s.OIDCSigningKeys(ctx, tt.after)
		if got := keyIDs(keys); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("OIDCSigningKeys(retired after %s) = %v, %v; want %v", tt.after, got, err, tt.want)
		}
	}
	keys, _ = s.OIDCSigningKeys(ctx, t0)
	if len(keys) != 3 || !keys[2].RetiredAt.Equal(retired) || !keys[0].RetiredAt.IsZero() || string(keys[2].Sealed.Ciphertext) != "k1" {
		t.Errorf("OIDCSigningKeys = %+v; want k1 retired at %s, k4 active", keys, retired)
	}

	// Instances generating the first key of an algorithm together make one.
	n := concurrently(t, 10, func(i int) (bool, error) {
		return AutoCommit(s).CreateOIDCSigningKey(ctx, key(fmt.Sprintf("race-%d", i), "EdDSA", t0))
	})
	if n != 1 {
		t.Errorf("%d of 10 concurrent CreateOIDCSigningKey(EdDSA) succeeded; want 1", n)
	}
}

func keyIDs(keys []*account.OIDCSigningKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

// Deleting a client deletes its requests, grants and tokens.
func testOIDCDeleteClientCascades(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana := newUser(t, s, "ana@example.com")
	for _, id := range []string{"c1", "c2"} {
		mustOK(t, "CreateOIDCClient("+id+")", a.CreateOIDCClient(ctx, oidcClient(id, id)))
		mustOK(t, "CreateOIDCAuthRequest", a.CreateOIDCAuthRequest(ctx, oidcRequest("r-"+id, id)))
		g := oidcGrant(id, ana)
		mustOK(t, "CreateOIDCGrant", a.CreateOIDCGrant(ctx, g))
		mustOK(t, "CreateOIDCAccessToken", a.CreateOIDCAccessToken(ctx, accessToken("at-"+id, g.ID)))
		mustOK(t, "CreateOIDCRefreshToken", a.CreateOIDCRefreshToken(ctx, refreshToken("rt-"+id, g.ID)))
	}
	if _, err := a.DeleteOIDCClient(ctx, "c1"); err != nil {
		t.Fatalf("DeleteOIDCClient(c1) = %v", err)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{{"c1", false}, {"c2", true}} {
		_, err := s.OIDCAuthRequest(ctx, "r-"+tt.id)
		_, _, atErr := s.OIDCAccessToken(ctx, "at-"+tt.id)
		_, _, rtErr := s.OIDCRefreshToken(ctx, "rt-"+tt.id)
		for what, err := range map[string]error{"request": err, "access token": atErr, "refresh token": rtErr} {
			if found := err == nil; found != tt.want || (!found && !errors.Is(err, account.ErrNotFound)) {
				t.Errorf("after DeleteOIDCClient(c1): %s of %s: %v; want found = %v", what, tt.id, err, tt.want)
			}
		}
	}
	if n := rowCount(t, s, "oidc_grants"); n != 1 {
		t.Errorf("grants after DeleteOIDCClient(c1) = %d; want 1 (c2's)", n)
	}
}

// DeleteExpired removes expired requests and tokens, and grants with no
// token left (revoked or not); the rest stays.
func testOIDCDeleteExpired(t *testing.T, open Opener) {
	s, _ := open(t)
	a := AutoCommit(s)
	ana := newUser(t, s, "ana@example.com")
	mustOK(t, "CreateOIDCClient", a.CreateOIDCClient(ctx, oidcClient("c1", "Wiki")))
	now := t0.Add(24 * time.Hour)
	old, live := oidcRequest("r-old", "c1"), oidcRequest("r-live", "c1")
	old.ExpiresAt, live.ExpiresAt = now, now.Add(time.Millisecond)
	for _, r := range []*account.OIDCAuthRequest{old, live} {
		mustOK(t, "CreateOIDCAuthRequest", a.CreateOIDCAuthRequest(ctx, r))
	}
	// kept: in force; revokedKept: revoked, a live refresh token left;
	// revokedGone: revoked, its only refresh token expired; spent: in
	// force, but its only (access) token expired.
	kept, revokedKept, revokedGone, spent := oidcGrant("c1", ana), oidcGrant("c1", ana), oidcGrant("c1", ana), oidcGrant("c1", ana)
	for _, g := range []*account.OIDCGrant{kept, revokedKept, revokedGone, spent} {
		mustOK(t, "CreateOIDCGrant", a.CreateOIDCGrant(ctx, g))
	}
	atOld, atLive := accessToken("at-old", kept.ID), accessToken("at-live", kept.ID)
	atOld.ExpiresAt, atLive.ExpiresAt = now, now.Add(time.Minute)
	rtOld, rtLive := refreshToken("rt-old", kept.ID), refreshToken("rt-live", kept.ID)
	rtOld.ExpiresAt, rtLive.ExpiresAt = now.Add(-time.Minute), now.Add(time.Minute)
	rtRevokedLive, rtRevokedOld := refreshToken("rt-revoked-live", revokedKept.ID), refreshToken("rt-revoked-old", revokedGone.ID)
	rtRevokedOld.ExpiresAt = now
	atSpent := accessToken("at-spent", spent.ID)
	atSpent.ExpiresAt = now
	for _, at := range []*account.OIDCAccessToken{atOld, atLive, atSpent} {
		mustOK(t, "CreateOIDCAccessToken", a.CreateOIDCAccessToken(ctx, at))
	}
	for _, rt := range []*account.OIDCRefreshToken{rtOld, rtLive, rtRevokedLive, rtRevokedOld} {
		mustOK(t, "CreateOIDCRefreshToken", a.CreateOIDCRefreshToken(ctx, rt))
	}
	for _, g := range []*account.OIDCGrant{revokedKept, revokedGone} {
		if ok, err := a.RevokeOIDCGrant(ctx, g.ID, t0.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("RevokeOIDCGrant(%d) = %v, %v", g.ID, ok, err)
		}
	}
	if err := s.DeleteExpired(ctx, now, t0, t0, t0); err != nil {
		t.Fatalf("DeleteExpired = %v", err)
	}

	for id, want := range map[string]bool{"r-old": false, "r-live": true} {
		if _, err := s.OIDCAuthRequest(ctx, id); (err == nil) != want {
			t.Errorf("after DeleteExpired: request %s found = %v (%v); want %v", id, err == nil, err, want)
		}
	}
	for id, want := range map[string]bool{"at-old": false, "at-live": true} {
		if _, _, err := s.OIDCAccessToken(ctx, id); (err == nil) != want {
			t.Errorf("after DeleteExpired: access token %s found = %v (%v); want %v", id, err == nil, err, want)
		}
	}
	for hash, want := range map[string]bool{"rt-old": false, "rt-live": true, "rt-revoked-live": true, "rt-revoked-old": false} {
		if _, _, err := s.OIDCRefreshToken(ctx, hash); (err == nil) != want {
			t.Errorf("after DeleteExpired: refresh token %s found = %v (%v); want %v", hash, err == nil, err, want)
		}
	}
	if n := rowCount(t, s, "oidc_grants"); n != 2 {
		t.Errorf("grants after DeleteExpired = %d; want 2 (the one in force, the revoked one with a live refresh token)", n)
	}
	// The grants that went are those whose tokens all did: a token can no
	// longer be added to them.
	for _, g := range []*account.OIDCGrant{revokedGone, spent} {
		if err := a.CreateOIDCAccessToken(ctx, accessToken(fmt.Sprintf("at-late-%d", g.ID), g.ID)); err == nil {
			t.Errorf("CreateOIDCAccessToken(grant %d, deleted by DeleteExpired) = nil; want an error", g.ID)
		}
	}
}

// Of many exchanges of one refresh token at once, each its own
// transaction, from two instances, one succeeds.
func testUseOIDCRefreshTokenConcurrent(t *testing.T, open Opener) {
	s, pick := handles(open, t)
	u := newUser(t, s, "ana@example.com")
	a := AutoCommit(s)
	mustOK(t, "CreateOIDCClient", a.CreateOIDCClient(ctx, oidcClient("c1", "Wiki")))
	g := oidcGrant("c1", u)
	mustOK(t, "CreateOIDCGrant", a.CreateOIDCGrant(ctx, g))
	mustOK(t, "CreateOIDCRefreshToken", a.CreateOIDCRefreshToken(ctx, refreshToken("rt1", g.ID)))
	n := concurrently(t, 20, func(i int) (bool, error) {
		var used bool
		err := pick(i).InTx(ctx, func(ctx context.Context, tx account.Tx) error {
			var err error
			used, err = tx.UseOIDCRefreshToken(ctx, "rt1", t0.Add(time.Minute))
			return err
		})
		return used, err
	})
	if n != 1 {
		t.Errorf("%d of 20 concurrent uses of one refresh token succeeded; want 1", n)
	}
}

// A refresh (the old token used, a new access token added, in one
// transaction) raced by a revocation of its grant never leaves an access
// token behind: either the refresh came first and the revocation deleted
// its token, or the revocation came first and the refresh was refused.
func testRaceRefreshAgainstRevoke(t *testing.T, open Opener) {
	s, other := twoHandles(open, t)
	u := newUser(t, s, "ana@example.com")
	a := AutoCommit(s)
	mustOK(t, "CreateOIDCClient", a.CreateOIDCClient(ctx, oidcClient("c1", "Wiki")))
	for round := range 20 {
		g := oidcGrant("c1", u)
		mustOK(t, "CreateOIDCGrant", a.CreateOIDCGrant(ctx, g))
		rt := fmt.Sprintf("rt-%d", round)
		mustOK(t, "CreateOIDCRefreshToken", a.CreateOIDCRefreshToken(ctx, refreshToken(rt, g.ID)))
		at := fmt.Sprintf("at-%d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			err := s.InTx(ctx, func(ctx context.Context, tx account.Tx) error {
				used, err := tx.UseOIDCRefreshToken(ctx, rt, t0.Add(time.Minute))
				if err != nil || !used {
					return err
				}
				return tx.CreateOIDCAccessToken(ctx, accessToken(at, g.ID))
			})
			if err != nil {
				t.Errorf("round %d: refresh = %v", round, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if ok, err := AutoCommit(other).RevokeOIDCGrant(ctx, g.ID, t0.Add(time.Minute)); !ok || err != nil {
				t.Errorf("round %d: RevokeOIDCGrant = %v, %v; want true", round, ok, err)
			}
		}()
		close(start)
		wg.Wait()
		if _, h, err := s.OIDCAccessToken(ctx, at); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("round %d: access token of a revoked grant survived: %+v, %v", round, h, err)
		}
	}
}
