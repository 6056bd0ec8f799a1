package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// tab is one person's browser: a browser context of its own (cookies,
// storage) with one tab, on one server. Its methods act as a person does,
// by the words on the page, and fail the test when the page does not allow
// it.
type tab struct {
	t   *testing.T
	ctx context.Context
	srv *server

	scriptsOff bool

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// openTab opens a fresh browser context on srv, at desktop size. Anything
// the pages write to the console as an error (a script exception, a CSP
// violation) fails the test.
func openTab(t *testing.T, srv *server) *tab {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &tab{t: t, ctx: ctx, srv: srv}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight)); err != nil {
		cancelTimeout()
		cancel()
		t.Fatalf("open a browser tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			if consoleProblem(m) {
				t.Errorf("browser console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	})
	return b
}

// consoleProblem reports whether a console message means a page is broken.
// Chromium logs every 4xx document as a failed resource; the pages answer a
// form with a problem with 422 (and a wrong password with 401) on purpose,
// so those are expected. A CSP violation is an error from "security".
func consoleProblem(m chromedp.ConsoleMessage) bool {
	if m.IsException() {
		return true
	}
	if m.Type != chromedp.ConsoleError {
		return false
	}
	return m.Source != "network" || !strings.HasPrefix(m.Text, "Failed to load resource: the server responded with a status of 4")
}

// stepTimeout bounds one step in the browser, so that a page that never
// loads fails the test where it happens rather than at the test's timeout.
const stepTimeout = 45 * time.Second

// do runs actions in the tab, failing the test on an error.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action that returns a value, failing the test on an error.
func run[T any](b *tab, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page, with the helpers
// below in scope, and decodes its JSON result into T.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	raw := run(b, fmt.Sprintf("evaluate %.80q", expr),
		chromedp.Evaluate[[]byte]("(() => {"+jsHelpers+"\nreturn ("+expr+");\n})()", chromedp.EvalAwaitPromise))
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		b.t.Fatalf("evaluate %.80q: decode %s: %v", expr, raw, err)
	}
	return v
}

// jsHelpers find things as a person does: controls by the text of their
// label, links and buttons by their visible text.
const jsHelpers = `
const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) && getComputedStyle(el).visibility !== "hidden";
const byText = (text) => [...document.querySelectorAll("a, button")].filter((el) =>
  visible(el) && (norm(el.innerText) === text || el.innerText.split("\n").some((line) => norm(line) === text)));
const byLabel = (text) => [...document.querySelectorAll("label")].filter((l) => norm(l.innerText) === text);
const labelOf = (el) => el && el.labels && el.labels.length ? norm(el.labels[0].innerText) : "";
`

// open loads a path of the server, as if typed in the address bar, and
// returns the HTTP status of the page it ends on.
func (b *tab) open(path string) int64 {
	b.t.Helper()
	resp := run(b, "open "+path, chromedp.NavigateResponse(b.srv.base+path))
	b.settle()
	return resp.Status
}

// settle waits for two frames after a page loads: autofocus is applied
// when the browser next renders, after the load event.
// With scripts off there are no animation frames to wait for, so a
// screenshot makes the browser render instead.
func (b *tab) settle() {
	b.t.Helper()
	if b.scriptsOff {
		run(b, "render", chromedp.CaptureScreenshot())
		return
	}
	eval[any](b, `new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null))))`)
}

// click clicks the one visible link or button that reads text and waits
// for the page it leads to; it returns the HTTP status of that page.
func (b *tab) click(text string) int64 {
	b.t.Helper()
	sel := b.findByText(text)
	// A form the browser will not submit (a required field left empty)
	// would leave the click waiting for a page that never comes.
	q, _ := json.Marshal(text)
	if invalid := eval[[]string](b, fmt.Sprintf(`(() => {
  const form = byText(%s)[0].form;
  if (!form || form.noValidate || form.checkValidity()) return [];
  return [...form.elements].filter((el) => el.willValidate && !el.validity.valid).map((el) => labelOf(el) + ": " + el.validationMessage);
})()`, q)); len(invalid) > 0 {
		b.t.Fatalf("%s: the browser will not submit the form of %q: %q", b.where(), text, invalid)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		b.t.Fatalf("click %q: %v", text, err)
	}
	if resp == nil {
		b.t.Fatalf("click %q: no page loaded", text)
	}
	b.settle()
	return resp.Status
}

// press clicks a button that does not leave the page (Print, Copy).
func (b *tab) press(text string) {
	b.t.Helper()
	b.do(fmt.Sprintf("press %q", text), chromedp.Click(b.findByText(text)))
}

func (b *tab) findByText(text string) chromedp.JSPath {
	b.t.Helper()
	q, _ := json.Marshal(text)
	found := eval[[]string](b, fmt.Sprintf(`byText(%s).map((el) => el.outerHTML.slice(0, 120))`, q))
	if len(found) != 1 {
		b.t.Fatalf("%s: %d visible links or buttons read %q; want 1: %q\npage text:\n%s", b.where(), len(found), text, found, b.text())
	}
	return chromedp.JSPath(fmt.Sprintf(`(() => {%s; return byText(%s)[0]; })()`, jsHelpers, q))
}

// control returns the id of the form control that the label reading label
// is for (label.control: a label that names no control fails).
func (b *tab) control(label string) string {
	b.t.Helper()
	q, _ := json.Marshal(label)
	ids := eval[[]string](b, fmt.Sprintf(`byLabel(%s).map((l) => l.control ? l.control.id : "(label for nothing)")`, q))
	if len(ids) != 1 || ids[0] == "" || strings.HasPrefix(ids[0], "(") {
		b.t.Fatalf("%s: labels reading %q name controls %q; want one control with an id\npage text:\n%s", b.where(), label, ids, b.text())
	}
	return ids[0]
}

// fill empties the field labelled label and types value into it, key by
// key, as a person does (so maxlength applies).
//
// It focuses and empties the field with a script and types with key events
// to the focused element, rather than chromedp.Clear and SendKeys: Clear
// sets the value attribute, which leaves a field the person already typed
// in unchanged, and SendKeys reads the node's attributes without its lock
// while the DOM events of Clear write them (a data race in chromedp).
func (b *tab) fill(label, value string) {
	b.t.Helper()
	id := b.control(label)
	eval[any](b, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.focus(); el.value = ""; return null; })()`, id))
	b.do(fmt.Sprintf("type into %q", label), chromedp.KeyEvent(value))
	want := value
	if max := eval[int](b, fmt.Sprintf(`document.getElementById(%q).maxLength`, id)); max >= 0 && len(want) > max {
		want = want[:max]
	}
	if got := b.value(label); got != want {
		b.t.Fatalf("%s: typed %q into %q but it holds %q", b.where(), value, label, got)
	}
}

// paste pastes text into the field labelled label the way a browser does
// when a person pastes: a paste event carrying the text, then the browser's
// default insertion unless a script handled it.
func (b *tab) paste(label, text string) {
	b.t.Helper()
	id := b.control(label)
	q, _ := json.Marshal(text)
	handled := eval[bool](b, fmt.Sprintf(`(() => {
  const el = document.getElementById(%q);
  el.focus();
  el.value = "";
  const data = new DataTransfer();
  data.setData("text/plain", %s);
  const ev = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
  const handled = !el.dispatchEvent(ev);
  if (!handled) { el.value = %s.slice(0, el.maxLength > 0 ? el.maxLength : undefined); }
  return handled;
})()`, id, q, q))
	b.t.Logf("pasted %q into %q (handled by the page's script: %v)", text, label, handled)
}

// value is the current value of the field labelled label.
func (b *tab) value(label string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.getElementById(%q).value`, b.control(label)))
}

// attrs returns the attributes of the control labelled label.
func (b *tab) attrs(label string) map[string]string {
	b.t.Helper()
	id := b.control(label)
	return eval[map[string]string](b, fmt.Sprintf(`Object.fromEntries([...document.getElementById(%q).attributes].map((a) => [a.name, a.value]))`, id))
}

// page is what a person sees first on a page.
type page struct {
	Path  string // path and query
	Title string
	H1    string
	Flash string // the message at the top after an action
	Alert string // a message about the form as a whole
	Main  string // the visible text of <main>
	// Header is the visible text of the site header: the signed-in
	// person's name and My info, and Sign out.
	Header string
}

func (b *tab) page() page {
	b.t.Helper()
	return eval[page](b, `({
  Path: location.pathname + location.search,
  Title: document.title,
  H1: norm(document.querySelector("h1") && document.querySelector("h1").innerText),
  Flash: norm(document.querySelector(".flash") && document.querySelector(".flash").innerText),
  Alert: norm(document.querySelector("[role=alert]") && document.querySelector("[role=alert]").innerText),
  Main: document.querySelector("main") ? document.querySelector("main").innerText : document.body.innerText,
  Header: norm(document.querySelector("header") && document.querySelector("header").innerText),
})`)
}

func (b *tab) text() string { return b.page().Main }

// wantSignedIn checks that the header shows the person signed in.
func (b *tab) wantSignedIn() {
	b.t.Helper()
	if got, want := b.page().Header, "twofold "+userName+" My info Sign out"; got != want {
		b.t.Errorf("%s: header reads %q; want %q", b.where(), got, want)
	}
}

func (b *tab) where() string {
	p := b.page()
	return fmt.Sprintf("page %q (%s)", p.H1, p.Path)
}

// wantPage checks the heading of the page now shown.
func (b *tab) wantPage(h1 string) page {
	b.t.Helper()
	p := b.page()
	if p.H1 != h1 {
		b.t.Fatalf("heading %q at %s; want %q\npage text:\n%s", p.H1, p.Path, h1, p.Main)
	}
	if !strings.HasSuffix(p.Title, " — twofold") {
		b.t.Errorf("%s: title %q; want it to end in \" — twofold\"", b.where(), p.Title)
	}
	return p
}

// wantFlash checks the message shown at the top after an action.
func (b *tab) wantFlash(want string) {
	b.t.Helper()
	if got := b.page().Flash; !strings.HasPrefix(got, want) {
		b.t.Errorf("%s: flash message %q; want %q", b.where(), got, want)
	}
}

// wantText checks that each text is visible in the page's main content.
func (b *tab) wantText(texts ...string) {
	b.t.Helper()
	main := norm(b.text())
	for _, s := range texts {
		if !strings.Contains(main, s) {
			b.t.Errorf("%s: no %q in the page; it reads:\n%s", b.where(), s, main)
		}
	}
}

func (b *tab) wantNoText(texts ...string) {
	b.t.Helper()
	main := norm(b.text())
	for _, s := range texts {
		if strings.Contains(main, s) {
			b.t.Errorf("%s: %q is shown; want it absent", b.where(), s)
		}
	}
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

// fieldError returns the message shown next to the field labelled label,
// checking that it is visible, that the field is aria-invalid and that the
// field's aria-describedby points at it. It returns "" when there is none.
func (b *tab) fieldError(label string) string {
	b.t.Helper()
	id := b.control(label)
	type result struct {
		Invalid     string
		DescribedBy string
		Message     string
		Visible     bool
	}
	r := eval[result](b, fmt.Sprintf(`(() => {
  const el = document.getElementById(%q);
  const ids = (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  const msg = ids.map((id) => document.getElementById(id)).find((m) => m && m.classList.contains("field-error"));
  return {Invalid: el.getAttribute("aria-invalid") || "", DescribedBy: ids.join(" "),
    Message: msg ? norm(msg.innerText) : "", Visible: !!msg && visible(msg)};
})()`, id))
	if r.Message == "" {
		if r.Invalid == "true" {
			b.t.Errorf("%s: field %q is aria-invalid but describedby %q names no message", b.where(), label, r.DescribedBy)
		}
		return ""
	}
	if r.Invalid != "true" {
		b.t.Errorf("%s: field %q has a message but aria-invalid=%q; want \"true\"", b.where(), label, r.Invalid)
	}
	if !r.Visible {
		b.t.Errorf("%s: the message next to %q is not visible", b.where(), label)
	}
	return r.Message
}

// wantFieldError checks the message next to a field and that focus landed
// on it (the first field with a problem has autofocus).
func (b *tab) wantFieldError(label, want string) {
	b.t.Helper()
	if got := b.fieldError(label); got != want {
		b.t.Errorf("%s: message next to %q: got %q; want %q", b.where(), label, got, want)
	}
}

// focused returns the label of the control that has focus ("" for none).
func (b *tab) focused() string {
	b.t.Helper()
	return eval[string](b, `labelOf(document.activeElement)`)
}

func (b *tab) wantFocus(label string) {
	b.t.Helper()
	if got := b.focused(); got != label {
		b.t.Errorf("%s: focus is on %q; want %q", b.where(), got, label)
	}
}

// scripts turns JavaScript in the tab off or on, for the pages that load next.
func (b *tab) scripts(on bool) {
	b.t.Helper()
	b.do("switch scripts", func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return chromedp.Void{}, err
	})
	b.scriptsOff = !on
}

// allowClipboard lets the pages of srv write and read the clipboard, as a
// person allows when the browser asks. Chromium has one clipboard for all
// browser contexts, so only one test uses it.
func (b *tab) allowClipboard() {
	b.t.Helper()
	c := chromedp.FromContext(b.ctx)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission:       &browser.PermissionDescriptor{Name: name},
			Setting:          browser.PermissionSettingGranted,
			Origin:           b.srv.base,
			BrowserContextID: c.BrowserContextID,
		})
		if err != nil {
			b.t.Fatalf("allow %s: %v", name, err)
		}
	}
}

// copyButton presses a Copy button, checks the status it shows next to it
// and returns what landed on the clipboard.
func (b *tab) copyButton(text string) string {
	b.t.Helper()
	b.press(text)
	status := eval[string](b, `new Promise((done) => {
  const start = Date.now();
  const check = () => {
    const s = norm([...document.querySelectorAll(".copy-status")].map((el) => el.innerText).join(" "));
    if (s || Date.now() - start > 5000) done(s); else setTimeout(check, 50);
  };
  check();
})`)
	if status != "Copied." {
		b.t.Errorf("%s: after %q the page says %q; want \"Copied.\"", b.where(), text, status)
	}
	return eval[string](b, `navigator.clipboard.readText()`)
}

// media emulates a CSS media type ("print", or "" for the screen).
func (b *tab) media(m string) {
	b.t.Helper()
	b.do("emulate media "+m, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return chromedp.Void{}, err
	})
}
