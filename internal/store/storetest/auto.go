package storetest

import (
	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/store/autocommit"
)

// Auto is a store whose Tx methods each run as a transaction of their own
// (package autocommit), for setting up state in tests.
type Auto = autocommit.Store

// AutoCommit wraps s.
func AutoCommit(s account.Store) Auto { return autocommit.Wrap(s) }
