/*
 * Stagegate: task and start forms in the browser. No inline script (strict CSP).
 *
 * - A field with data-show-when (a rule from web/conditions.py: {"op": "eq", "field": "x",
 *   "value": "hold"}, and/or/not of such) is shown only while the other answers make it apply;
 *   while hidden its inputs are disabled, so it submits nothing. Without JavaScript every field
 *   shows, with its plain-language hint, and the server checks the condition either way.
 * - A whole-number box (data-thousands) shows 1200000 as 1,200,000 when the user leaves it.
 */
(function () {
  'use strict';

  function answer(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    var value = null;
    Array.prototype.forEach.call(inputs, function (el) {
      if (el.type === 'radio') {
        if (el.checked) { value = el.value; }
      } else if (el.type === 'checkbox') {
        value = el.checked ? 'true' : 'false';
      } else if (el.type !== 'hidden' || value === null) {
        value = el.value;
      }
    });
    return value;
  }

  function number(text) {
    var n = Number(String(text).replace(/,/g, '').trim());
    return String(text).trim() === '' || isNaN(n) ? null : n;
  }

  function same(actual, expected) {
    if (actual === null) { return expected === null; }
    if (typeof expected === 'number') { return number(actual) === expected; }
    if (typeof expected === 'boolean') { return (actual === 'true') === expected; }
    return actual === String(expected);
  }

  function holds(rule, form) {
    var op = rule.op;
    if (op === 'and') { return rule.parts.every(function (p) { return holds(p, form); }); }
    if (op === 'or') { return rule.parts.some(function (p) { return holds(p, form); }); }
    if (op === 'not') { return !holds(rule.parts[0], form); }
    var actual = answer(form, rule.field);
    if (op === 'truthy') { return actual !== null && actual !== '' && actual !== 'false'; }
    if (op === 'eq') { return same(actual, rule.value); }
    if (op === 'ne') { return !same(actual, rule.value); }
    if (op === 'in') { return rule.value.some(function (v) { return same(actual, v); }); }
    if (op === 'not_in') { return !rule.value.some(function (v) { return same(actual, v); }); }
    var a = number(actual);
    if (a === null) { return false; }
    return { lt: a < rule.value, le: a <= rule.value, gt: a > rule.value, ge: a >= rule.value }[op] === true;
  }

  function refresh(form) {
    Array.prototype.forEach.call(form.querySelectorAll('[data-show-when]'), function (field) {
      var rule;
      try { rule = JSON.parse(field.getAttribute('data-show-when')); } catch (err) { return; }
      var applies = holds(rule, form);
      field.hidden = !applies;
      field.setAttribute('data-applies', applies ? 'true' : 'false');
      Array.prototype.forEach.call(field.querySelectorAll('input, select, textarea'), function (el) {
        el.disabled = !applies;
      });
    });
  }

  function thousands(el) {
    var text = el.value.replace(/,/g, '').trim();
    if (/^[+-]?\d{4,}$/.test(text)) {
      var sign = /^[+-]/.test(text) ? text[0] : '';
      var digits = sign ? text.slice(1) : text;
      el.value = sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('form'), function (form) {
      if (!form.querySelector('[data-show-when]')) { return; }
      form.addEventListener('change', function () { refresh(form); });
      form.addEventListener('input', function () { refresh(form); });
      refresh(form);
    });
    Array.prototype.forEach.call(document.querySelectorAll('input[data-thousands]'), function (el) {
      el.addEventListener('blur', function () { thousands(el); });
      thousands(el);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
