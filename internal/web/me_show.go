package web

import (
	"context"
	"net/http"

	"github.com/twofold/twofold/internal/account"
)

// meData is the data of the My info page.
type meData struct {
	User                 *account.User
	BackupCodesRemaining int
	// BackupCodesGenerated tells "never generated" (just enabled) from
	// "all used" when none remain.
	BackupCodesGenerated bool
	Events               []*account.Event
}

// showMe is the My info page: details, 2 factor authentication and the
// recent security activity.
func (h *handler) showMe(w http.ResponseWriter, r *http.Request) {
	_, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.meView(r.Context(), p, map[string]string{"name": p.User.Name, "mobile_phone": account.DisplayPhone(p.User.MobilePhone)})
	if err != nil {
		h.fail(w, r, err, recovery{})
		return
	}
	h.render(w, r, http.StatusOK, pageMe, v)
}

func (h *handler) meView(ctx context.Context, p *account.Profile, form map[string]string) (*view, error) {
	events, err := h.svc.Events(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	return &view{Title: "My info", User: p.User, Form: form, Data: meData{
		User: p.User, BackupCodesRemaining: p.BackupCodesRemaining, BackupCodesGenerated: p.BackupCodesGenerated, Events: events,
	}}, nil
}
