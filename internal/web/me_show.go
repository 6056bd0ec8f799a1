package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/agent"
	"github.com/twofold/twofold/internal/httpauth"
)

// meData is the data of the My info page.
type meData struct {
	User                 *account.User
	BackupCodesRemaining int
	// BackupCodesGenerated tells "never generated" (just enabled) from
	// "all used" when none remain.
	BackupCodesGenerated bool
	Events               []*account.Event
	// Devices are the remembered devices; RememberDays is 0 when the
	// feature is off (and the section is shown only if some remain).
	Devices      []deviceRow
	RememberDays int
	// RecoveryPending is when a pending self-recovery of the account
	// completes (zero: none).
	RecoveryPending time.Time
}

// deviceRow is a remembered device as My info lists it.
type deviceRow struct {
	*account.Device
	Browser string
}

// showMe is the My info page: details, 2 factor authentication and the
// recent security activity.
func (h *handler) showMe(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.meView(r, sess, map[string]string{"name": p.User.Name, "mobile_phone": account.DisplayPhone(p.User.MobilePhone)})
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageMe, v)
}

func (h *handler) meView(r *http.Request, sess *account.Session, form map[string]string) (*view, error) {
	p := sess.Profile
	events, err := h.svc.Events(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	devices, err := h.svc.Devices(r.Context(), sess, httpauth.DeviceToken(r))
	if err != nil {
		return nil, err
	}
	var pending time.Time
	if rec, err := h.svc.PendingRecoveryOf(r.Context(), p.User.ID); err == nil {
		pending = rec.EffectiveAt
	} else if !errors.Is(err, account.ErrRecoveryNotFound) {
		return nil, err
	}
	rows := make([]deviceRow, len(devices))
	for i, d := range devices {
		rows[i] = deviceRow{Device: d, Browser: agent.Describe(d.UserAgent)}
	}
	return &view{Title: "My info", User: p.User, Form: form, Data: meData{
		User: p.User, BackupCodesRemaining: p.BackupCodesRemaining, BackupCodesGenerated: p.BackupCodesGenerated, Events: events,
		Devices: rows, RememberDays: int(h.svc.Policy().RememberDevice / (24 * time.Hour)), RecoveryPending: pending,
	}}, nil
}
