// estatewatch console: shared helpers for pages (plain JavaScript, no build step).
"use strict";
window.estatewatch = {
  // The session's CSRF token, for fetch() calls that change state
  // (send it as the X-CSRF-Token header).
  csrf() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  },
  // POST form data (an object) with the CSRF token; resolves to the Response.
  post(url, data) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": this.csrf(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(data || {}),
      credentials: "same-origin",
    });
  },
};
