// /api/docs: the page is drawn on the server; this only filters its routes and schemas
// as one types. Served by the dashboard itself; nothing is fetched from elsewhere.
'use strict';

document.getElementById('filter').addEventListener('input', (ev) => {
  const words = ev.target.value.toLowerCase().trim();
  for (const node of document.querySelectorAll('[data-text]')) {
    node.classList.toggle('hidden', words !== '' && !node.dataset.text.includes(words));
  }
});
