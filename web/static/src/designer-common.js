/*
 * Stagegate designer: what the BPMN and DMN editors share. The page (templates/designer/
 * editor.html) gives the URLs and the CSRF token as data- attributes of #designer; no inline
 * script runs under the Content-Security-Policy.
 *
 * An editor adapter provides: load(xml), xml() -> Promise<string>, onChange(fn),
 * mark(problems) (markers on elements), select(id) (show that element).
 * The root gets data-state="ready" once the diagram is shown, data-problems="<count>" after
 * each validation and data-deployed="<process or decision vN, ...>" after a deploy.
 */

function post(root, url, body) {
  return fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': root.dataset.csrf },
    body: JSON.stringify(body)
  }).then(function (response) {
    return response.json().catch(function () {
      throw new Error('HTTP ' + response.status + ' ' + response.statusText);
    }).then(function (data) {
      data.status = response.status;
      return data;
    });
  });
}

function where(problem) {
  var parts = [];
  if (problem.element_id) {
    parts.push(problem.element_name ? problem.element_name + ' (' + problem.element_id + ')' : problem.element_id);
  } else if (problem.line) {
    parts.push('line ' + problem.line);
  }
  return parts.join(' ');
}

export function startDesigner(root, adapter) {
  var status = root.querySelector('.designer-status');
  var list = root.querySelector('.designer-problems');
  var count = root.querySelector('.problem-count');
  var comment = root.querySelector('#deploy-comment');
  var kind = root.dataset.kind;
  var baseVersion = root.dataset.version ? Number(root.dataset.version) : null;
  var validation = 0;
  var timer = null;

  function say(text, tone) {
    status.textContent = text;
    status.className = 'designer-status' + (tone ? ' is-' + tone : '');
  }

  function showProblems(problems) {
    list.textContent = '';
    problems.forEach(function (p) {
      var item = document.createElement('li');
      item.className = 'problem problem-' + p.severity;
      item.tabIndex = 0;
      if (p.element_id) { item.dataset.elementId = p.element_id; }
      var sev = document.createElement('span');
      sev.className = 'severity severity-' + p.severity;
      sev.textContent = p.severity;
      var place = document.createElement('strong');
      place.textContent = where(p);
      var reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = (place.textContent ? ': ' : '') + p.reason;
      item.append(sev, place, reason);
      var pick = function () { if (p.element_id) { adapter.select(p.element_id); } };
      item.addEventListener('click', pick);
      item.addEventListener('keydown', function (e) { if (e.key === 'Enter') { pick(); } });
      list.appendChild(item);
    });
    var errors = problems.filter(function (p) { return p.severity === 'error'; }).length;
    count.textContent = problems.length ? '(' + errors + ' errors, ' + (problems.length - errors) + ' warnings)' : '(none)';
    root.dataset.problems = String(problems.length);
    adapter.mark(problems);
  }

  function validate() {
    var mine = ++validation;
    root.dataset.validating = 'true';
    return adapter.xml().then(function (xml) {
      return post(root, root.dataset.validateUrl, { kind: kind, xml: xml });
    }).then(function (data) {
      if (mine !== validation) { return data; } // a newer edit is being checked
      delete root.dataset.validating;
      if (!data.problems) { throw new Error(data.message || 'validation failed'); }
      showProblems(data.problems);
      return data;
    }).catch(function (err) {
      if (mine === validation) { delete root.dataset.validating; say('Could not validate: ' + err.message, 'error'); }
    });
  }

  function save() {
    say('Saving draft…');
    return adapter.xml().then(function (xml) {
      return post(root, root.dataset.saveUrl, { kind: kind, xml: xml, base_version: baseVersion });
    }).then(function (data) {
      if (data.ok) {
        say('Draft of ' + data.draft.name + ' saved (not deployed).', 'ok');
        root.dataset.saved = data.draft.saved_at;
      } else {
        showProblems(data.problems || []);
        say(data.message || 'The draft was not saved: see the problems below.', 'error');
      }
    }).catch(function (err) { say('The draft was not saved: ' + err.message, 'error'); });
  }

  function send(xml) {
    say('Deploying…');
    return post(root, root.dataset.deployUrl, { kind: kind, xml: xml, comment: comment.value, base_version: baseVersion })
      .then(function (data) {
        if (!data.ok) {
          if (data.problems && data.problems.length) { showProblems(data.problems); }
          say(data.message || (data.status === 403 ? 'You may not deploy.' : 'Not deployed: fix the errors listed below.'), 'error');
          return;
        }
        var names = data.results.filter(function (r) { return r.changed; }).map(function (r) {
          return r.id + ' v' + r.version;
        });
        data.results.forEach(function (r) {
          if (r.id === root.dataset.key || (!root.dataset.key && r.kind === 'process')) { baseVersion = r.version; }
        });
        root.dataset.deployed = names.join(', ');
        say(names.length ? 'Deployed ' + names.join(', ') + '. Running deals stay on their version.'
          : 'Nothing changed: the newest version already has this content.', 'ok');
        comment.value = '';
      });
  }

  // A changed decision table decides the next deals differently: show what its what-if replay finds
  // over the recorded gate decisions and deploy only once the designer confirms.
  function confirmed(summary) {
    var panel = root.querySelector('.designer-confirm');
    panel.querySelector('.confirm-summary').textContent = summary;
    panel.hidden = false;
    root.dataset.confirming = 'true';
    panel.querySelector('[data-confirm=yes]').focus();
    return new Promise(function (resolve) {
      function answer(event) {
        var yes = event.target.dataset.confirm === 'yes';
        panel.hidden = true;
        delete root.dataset.confirming;
        panel.querySelectorAll('[data-confirm]').forEach(function (b) { b.removeEventListener('click', answer); });
        resolve(yes);
      }
      panel.querySelectorAll('[data-confirm]').forEach(function (b) { b.addEventListener('click', answer); });
    });
  }

  function deploy() {
    if (!comment.value.trim()) {
      say('Say what changed before deploying (the comment is kept with the version).', 'error');
      comment.focus();
      return Promise.resolve();
    }
    return adapter.xml().then(function (xml) {
      if (!root.dataset.previewUrl) { return send(xml); }
      say('Replaying past gate decisions through this table…');
      return post(root, root.dataset.previewUrl, { kind: kind, xml: xml }).then(function (preview) {
        if (!preview.ok) {
          if (preview.problems && preview.problems.length) { showProblems(preview.problems); }
          say(preview.message || (preview.status === 403 ? 'You may not deploy.' : 'Not deployed: fix the errors listed below.'), 'error');
          return;
        }
        if (!preview.changed) { return send(xml); }
        say('');
        return confirmed(preview.summary).then(function (yes) {
          return yes ? send(xml) : say('Not deployed. ' + preview.summary, 'error');
        });
      });
    }).catch(function (err) { say('Not deployed: ' + err.message, 'error'); });
  }

  function download() {
    return adapter.xml().then(function (xml) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
      link.download = (root.dataset.key || 'new_process') + '.' + kind;
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  // What-if (decision tables): the metrics page replays past gate decisions through the table as
  // it is in the editor now, in a new tab, so the edits here stay open.
  function whatif() {
    var form = root.querySelector('.designer-whatif');
    return adapter.xml().then(function (xml) {
      form.querySelector('[name=dmn_xml]').value = xml;
      form.submit();
    });
  }

  var actions = { validate: validate, save: save, deploy: deploy, download: download, whatif: whatif };
  root.querySelectorAll('[data-action]').forEach(function (button) {
    button.addEventListener('click', function () { actions[button.dataset.action](); });
  });

  fetch(root.dataset.src, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) { throw new Error('HTTP ' + r.status + ' for ' + root.dataset.src); }
    return r.text();
  }).then(function (xml) {
    return adapter.load(xml);
  }).then(function () {
    root.dataset.state = 'ready';
    adapter.onChange(function () {
      clearTimeout(timer);
      timer = setTimeout(validate, 600); // check once the designer pauses
    });
    return validate();
  }).catch(function (err) {
    root.dataset.state = 'error';
    say('The diagram could not be opened: ' + err.message, 'error');
  });
}
