package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBackupCodesPrintOnePage prints the backup codes page with Chromium's
// print-to-PDF, as the Print button does, on A4 and US Letter: one sheet
// each, carrying only the codes, the account email, the issuer and the
// date. The PDFs go to screenshots/ too.
func TestBackupCodesPrintOnePage(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	b := openTab(t, srv)
	_, codes := setUpTwoFactor(t, b)

	dir := filepath.Join(repoRoot(t), "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, paper := range []struct {
		name string
		size chromedp.PaperSize
	}{
		{"a4", chromedp.PaperA4},
		{"letter", chromedp.PaperLetter},
	} {
		t.Run(paper.name, func(t *testing.T) {
			pdf := run(b, "print to PDF", chromedp.PrintToPDF(chromedp.PDFPaper(paper.size)))
			if err := os.WriteFile(filepath.Join(dir, "backup-codes-print-"+paper.name+".pdf"), pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := pdfPages(t, pdf); got != 1 {
				t.Errorf("backup codes print on %s: got %d pages; want 1", paper.name, got)
			}
		})
	}

	// The page counter itself: the same page on a 3-inch square sheet
	// needs several.
	pdf := run(b, "print to PDF", chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperSize{Width: 3, Height: 3})))
	if got := pdfPages(t, pdf); got < 2 {
		t.Errorf("backup codes on a 3-inch sheet: got %d pages; want several (is the page counter working?)", got)
	}

	// What the sheet carries: print media, as the PDF was made.
	b.media("print")
	printed := norm(eval[string](b, `document.body.innerText`))
	b.media("")
	want := append([]string{"twofold backup codes", userEmail, time.Now().UTC().Format("2 January 2006")}, codes...)
	for _, s := range want {
		if !strings.Contains(printed, s) {
			t.Errorf("printed sheet does not show %q; it reads:\n%s", s, printed)
		}
	}
	for _, s := range []string{"Sign out", "My info", "Backup codes generated", "Put these codes somewhere safe", "password manager", "Download", "Print", "Copy", "Back to My info"} {
		if strings.Contains(printed, s) {
			t.Errorf("printed sheet shows %q; want the codes only. It reads:\n%s", s, printed)
		}
	}
}

var (
	pdfPage  = regexp.MustCompile(`/Type\s*/Page\b`) // not /Pages: \b needs a non-letter after "Page"
	pdfCount = regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b`)
)

// pdfPages counts the page objects of a PDF, and checks the count against
// the page tree's /Count when Chromium wrote it uncompressed.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	n := len(pdfPage.FindAll(pdf, -1))
	if m := pdfCount.FindSubmatch(pdf); m != nil {
		c := string(m[1]) + string(m[2])
		if count, err := strconv.Atoi(c); err != nil || count != n {
			t.Errorf("PDF has %d /Type /Page objects but its page tree says /Count %s", n, c)
		}
	}
	if n == 0 {
		t.Fatalf("no /Type /Page object in the PDF (%d bytes, starts %q)", len(pdf), fmt.Sprintf("%.20s", pdf))
	}
	return n
}
