package account

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// MaxAuthzCache bounds Policy.AuthzCache: issue 13 allows a cache on the
// forward-auth path only if a sign-out, deactivation or 2FA reset made on
// another instance decides every check within a second.
const MaxAuthzCache = time.Second

// authzCacheSize bounds the sessions a cache holds; past it a read is
// used without being kept (until the entries expire).
const authzCacheSize = 20_000

// decisionCache keeps, for at most ttl, what a forward-auth check read
// (Store.SessionForApp) for a fully signed-in session, so that a stream of
// checks of one session reads the store once per ttl, not once per check.
//
// The bound is what makes it safe across instances: an entry is used only
// until ttl after its read *started* (time.Now's monotonic clock, not the
// injected one), so a change committed on any instance before then is in
// the read, and a change committed later is seen by every check from
// ttl after its commit on. On this instance a change is seen at once:
// every transaction this service commits (sign-out, deactivation, 2FA
// reset, role, settings and app changes, and all the others) bumps gen
// before it returns, and an entry read under an older gen is not used.
// Reads that find no session, or a half-signed-in one, are never kept.
//
// Only the read is kept, not the decision: the session's timeouts, the
// rule and the enrollment are decided afresh for each check. A check that
// touches the session (once per Policy.TouchInterval) drops it, so the
// next reads it again; one that finds it expired deletes it, in a
// transaction, which moves the generation on.
type decisionCache struct {
	ttl time.Duration
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[string]decisionEntry
}

type decisionEntry struct {
	sess    Session // a copy: a check may change its copy (LastSeenAt)
	state   AppsState
	expires time.Time // read start + ttl, monotonic
	gen     uint64
}

func newDecisionCache(ttl time.Duration) *decisionCache {
	if ttl <= 0 {
		return nil
	}
	return &decisionCache{ttl: min(ttl, MaxAuthzCache), m: make(map[string]decisionEntry)}
}

// changed is called after every transaction of this instance.
func (c *decisionCache) changed() {
	if c != nil {
		c.gen.Add(1)
	}
}

// get returns a copy of what was read for hash, while it may be used.
func (c *decisionCache) get(hash string) (*Session, AppsState, bool) {
	if c == nil {
		return nil, AppsState{}, false
	}
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	if !ok || e.gen != c.gen.Load() || !time.Now().Before(e.expires) {
		return nil, AppsState{}, false
	}
	sess := e.sess
	return &sess, e.state, true
}

// read is Store.SessionForApp through the cache.
func (c *decisionCache) read(ctx context.Context, st Store, hash string) (*Session, AppsState, error) {
	if sess, state, ok := c.get(hash); ok {
		return sess, state, nil
	}
	if c == nil {
		return st.SessionForApp(ctx, hash)
	}
	start, gen := time.Now(), c.gen.Load()
	sess, state, err := st.SessionForApp(ctx, hash)
	if err != nil || sess.Stage != StageComplete {
		return sess, state, err
	}
	c.put(hash, decisionEntry{sess: *sess, state: state, expires: start.Add(c.ttl), gen: gen})
	return sess, state, nil
}

func (c *decisionCache) put(hash string, e decisionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= authzCacheSize {
		now := time.Now()
		for k, old := range c.m {
			if !now.Before(old.expires) || old.gen != e.gen {
				delete(c.m, k)
			}
		}
		if len(c.m) >= authzCacheSize {
			return
		}
	}
	c.m[hash] = e
}

// forget drops what was read for hash: its session was just touched or
// deleted.
func (c *decisionCache) forget(hash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, hash)
	c.mu.Unlock()
}
