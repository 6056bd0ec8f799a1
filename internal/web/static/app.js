// twofold: small progressive enhancements. Every page works without this
// file; it only adds Print and Copy buttons, tidies pasted codes and shows a
// code countdown hint.
(function () {
  "use strict";

  function say(id, text) {
    var el = id && document.getElementById(id);
    if (el) {
      el.textContent = text;
    }
  }

  document.querySelectorAll("[data-action=print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  if (navigator.clipboard && window.isSecureContext) {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var status = button.getAttribute("data-status");
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(
          function () { say(status, "Copied."); },
          function () { say(status, "Could not copy: select the text and copy it yourself."); }
        );
      });
    });
  }

  // A pasted code often brings spaces, a line break or words around it
  // ("Your code is 123 456"), which maxlength would cut in the wrong place.
  // data-trim="code": six digits anywhere in the text become the code;
  // data-trim="space": leading and trailing space goes. The server ignores
  // spaces and hyphens anyway, so typing by hand needs none of this.
  document.querySelectorAll("input[data-trim]").forEach(function (input) {
    input.addEventListener("paste", function (event) {
      var data = event.clipboardData || window.clipboardData;
      if (!data) {
        return;
      }
      var text = data.getData("text");
      var clean = text.trim();
      if (input.getAttribute("data-trim") === "code") {
        var digits = text.replace(/\D/g, "");
        if (digits.length === 6) {
          clean = digits;
        }
      }
      if (clean === text) {
        return; // nothing to tidy: let the browser paste
      }
      event.preventDefault();
      var start = input.selectionStart === null ? input.value.length : input.selectionStart;
      var end = input.selectionEnd === null ? start : input.selectionEnd;
      var value = input.value.slice(0, start) + clean + input.value.slice(end);
      if (input.maxLength > 0) {
        value = value.slice(0, input.maxLength);
      }
      input.value = value;
      var caret = Math.min(start + clean.length, value.length);
      input.setSelectionRange(caret, caret);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  // When the code on the phone changes next, by this device's clock.
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    var tick = function () {
      var left = 30 - (Math.floor(Date.now() / 1000) % 30);
      countdown.textContent = "The code in your app changes in about " + left + " s.";
    };
    tick();
    countdown.hidden = false;
    window.setInterval(tick, 1000);
  }
})();
