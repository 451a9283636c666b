/*
 * Stagegate what-if replay: while the replay runs, poll its status (the element's
 * data-status-url, a small JSON document) and reload the page once it is done or failed,
 * so the page shows the result or the limit that stopped it.
 */
(function () {
  'use strict';

  var box = document.querySelector('[data-status-url]');
  if (!box) { return; }
  var url = box.getAttribute('data-status-url');
  var state = box.querySelector('.whatif-state');
  var started = Date.now();
  var delay = 500;

  function poll() {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (r) {
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      return r.json();
    }).then(function (job) {
      if (job.status === 'done' || job.status === 'failed') {
        window.location.reload();
        return;
      }
      var seconds = Math.round((Date.now() - started) / 1000);
      state.textContent = (job.status === 'queued' ? 'Waiting for the replay to start… ' : 'Replaying the recorded gate decisions… ') + seconds + ' s';
      delay = Math.min(delay * 1.5, 3000);
      setTimeout(poll, delay);
    }).catch(function (err) {
      state.textContent = 'Could not check the replay (' + err.message + '); reload the page to try again.';
    });
  }

  setTimeout(poll, delay);
}());
