/*
 * Stagegate: the top bar's menu. On a narrow screen the nav folds behind the "Menu" button (a
 * <details>); on a wide one it is always open and the button is hidden (app.css). Loaded right after
 * the menu, so it is closed before the page is first drawn. No inline script (strict CSP).
 */
(function () {
  'use strict';
  var menu = document.querySelector('details.menu');
  if (!menu || !window.matchMedia) { return; }
  var narrow = window.matchMedia('(max-width: 900px)');
  function fit() { menu.open = !narrow.matches; }
  fit();
  if (narrow.addEventListener) { narrow.addEventListener('change', fit); }
}());
