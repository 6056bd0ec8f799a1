package account_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
	"github.com/twofold/twofold/internal/keyring"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/sqlite"
)

// A sign-in the server was too busy to check (503) is not charged as a
// failed password: 20 of them must not lock out the right one.
func TestBusySignInsDoNotCountAsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, _ := keyring.New(bytes.Repeat([]byte{0x42}, keyring.KeySize), rand.Reader)
	slow := password.Params{Memory: 64 * 1024, Time: 8, Threads: 1, SaltLen: 16, KeyLen: 32} // ~1 s a hash
	hasher := password.NewHasher(slow, rand.Reader, 1, 0, time.Millisecond)
	svc, err := account.NewService(ctx, account.Options{Store: store, Keys: keys, Hasher: hasher, Policy: account.DefaultPolicy(),
		SignUpLink:     func(token string) string { return accounttest.LinkBase + "?token=" + token },
		InvitationLink: func(token string) string { return accounttest.InviteBase + "?token=" + token },
		DisavowLink:    func(token string) string { return accounttest.DisavowBase + "?token=" + token }})
	if err != nil {
		t.Fatal(err)
	}
	ana := account.Client{IP: "192.0.2.7"}
	hash, err := hasher.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"ana@example.com", "bob@example.com"} {
		if err := autocommit.Wrap(store).CreateUser(ctx, &account.User{Email: email, Name: "N", PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { // someone else's sign-in holds the only hash slot for about a second
		svc.SignIn(ctx, account.SignInInput{Email: "bob@example.com", Password: "correct horse battery"}, account.Client{IP: "198.51.100.2"})
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	busy := 0
	for range 20 {
		if _, _, err := svc.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: "correct horse battery"}, ana); errors.Is(err, account.ErrBusy) {
			busy++
		}
	}
	<-done
	_, _, err = svc.SignIn(ctx, account.SignInInput{Email: "ana@example.com", Password: "correct horse battery"}, ana)
	t.Logf("%d of Ana's 20 sign-ins, all with the right password, were answered busy", busy)
	if err != nil {
		t.Errorf("Ana's next sign-in with the right password, the server idle = %v; want success", err)
	}
}
