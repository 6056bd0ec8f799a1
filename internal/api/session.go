package api

import (
	"net/http"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/httpauth"
)

type signUpRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	Name        string `json:"name"`
	MobilePhone string `json:"mobile_phone"`
}

// signUp starts a sign-up: the service mails a link to finish it (or, for
// an email that already has an account, tells its owner instead). Either
// way the answer is the same 202, so it reveals nothing about the email.
func (h *handler) signUp(w http.ResponseWriter, r *http.Request) error {
	var in signUpRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.StartSignUp(r.Context(), account.SignUpInput{
		Email: in.Email, Password: in.Password, Name: in.Name, MobilePhone: in.MobilePhone,
	}, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusAccepted, signUpResponse{Status: "confirmation_sent"})
}

type signUpResponse struct {
	Status string `json:"status"`
}

type confirmSignUpRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// confirmSignUp finishes a sign-up with the mailed link's token and the
// password chosen at sign-up: it creates the account and signs it in, 201
// with the profile. The service checks the token first (410 when it is no
// good), then the password: an empty one is a 422 not counted against the
// link.
func (h *handler) confirmSignUp(w http.ResponseWriter, r *http.Request) error {
	var in confirmSignUpRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	// The session the client held before, if any, ends with the sign-up.
	u, token, err := h.svc.ConfirmSignUp(r.Context(), account.ConfirmSignUpInput{
		Token: in.Token, Password: in.Password, PreviousToken: httpauth.Token(r),
	}, httpauth.Client(r))
	if err != nil {
		return err
	}
	return h.created(w, r, u, token)
}

// created answers a new account signed in: its session cookie, 201 and the
// body of GET /me (a finished sign-up, an accepted invitation).
func (h *handler) created(w http.ResponseWriter, r *http.Request, u *account.User, token string) error {
	httpauth.SetToken(w, token, h.cookies)
	w.Header().Set("Location", "/api/v1/me")
	return h.writeJSON(w, r, http.StatusCreated, newMeResponse(&account.Profile{User: u}))
}

type signInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type statusResponse struct {
	Status account.Stage `json:"status"`
	// Recovered: this sign-in completed the account's self-recovery, so
	// 2FA is off; set it up again at once.
	Recovered bool `json:"recovered,omitempty"`
}

// signIn is the password step; the session may still need its second factor.
func (h *handler) signIn(w http.ResponseWriter, r *http.Request) error {
	var in signInRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	res, err := h.svc.SignInWithDevice(r.Context(), account.SignInInput{
		Email: in.Email, Password: in.Password, PreviousToken: httpauth.Token(r), DeviceToken: httpauth.DeviceToken(r),
	}, httpauth.Client(r))
	if err != nil {
		return err
	}
	httpauth.SignedIn(w, res.Token, res.DeviceToken, res.DropDevice, res.DeviceLifetime, h.cookies)
	return h.writeJSON(w, r, http.StatusOK, statusResponse{Status: res.Stage, Recovered: res.Recovered})
}

type codeRequest struct {
	Code string `json:"code"`
	// RememberDevice asks for the twofold_device cookie, with which the
	// next sign-in from this client skips the code step.
	RememberDevice bool `json:"remember_device"`
}

// submitSecondFactor completes a half-signed-in session with a TOTP or a
// backup code; the session id changes.
func (h *handler) submitSecondFactor(w http.ResponseWriter, r *http.Request) error {
	var in codeRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	res, err := h.svc.VerifySecondFactor(r.Context(), httpauth.Token(r), account.SecondFactorInput{
		Code: in.Code, RememberDevice: in.RememberDevice,
	}, httpauth.Client(r))
	if err != nil {
		return err
	}
	httpauth.SignedIn(w, res.Token, res.DeviceToken, false, res.DeviceLifetime, h.cookies)
	return h.writeJSON(w, r, http.StatusOK, statusResponse{Status: account.StageComplete})
}

// signOut ends the session, whatever its stage; without one it is a no-op.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.SignOut(r.Context(), httpauth.Token(r), httpauth.Client(r)); err != nil {
		return err
	}
	httpauth.ClearToken(w, h.cookies)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

type recentAuthResponse struct {
	RecentlyAuthenticated bool `json:"recently_authenticated"`
}

// confirmPassword re-checks the password so the session may enable or
// disable 2FA and generate backup codes for the next few minutes.
func (h *handler) confirmPassword(w http.ResponseWriter, r *http.Request, sess *account.Session) error {
	var in passwordRequest
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.ConfirmPassword(r.Context(), sess, in.Password, httpauth.Client(r)); err != nil {
		return err
	}
	return h.writeJSON(w, r, http.StatusOK, recentAuthResponse{RecentlyAuthenticated: true})
}
