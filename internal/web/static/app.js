// twofold: small progressive enhancements. Every page works without this
// file; it only adds Print and Copy buttons and a code countdown hint.
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
