// /api/docs: renders /api/openapi.json as a readable list of routes and schemas.
// Served by the dashboard itself; nothing is fetched from elsewhere.
'use strict';

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
};

const refName = (ref) => ref.split('/').pop();

// A schema as short text with links to named schemas.
function typeOf(schema) {
  if (!schema) return el('span', { class: 'muted' }, '—');
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return el('a', { href: '#schema-' + name }, name);
  }
  if (schema.type === 'array') {
    return el('span', {}, '[', typeOf(schema.items), ']');
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (schema[key]) {
      const span = el('span');
      schema[key].forEach((s, i) => { if (i) span.append(key === 'allOf' ? ' & ' : ' | '); span.append(typeOf(s)); });
      return span;
    }
  }
  if (schema.enum) return el('code', {}, schema.enum.map((v) => JSON.stringify(v)).join(' | '));
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type || 'any');
  return el('code', {}, schema.format ? `${type} (${schema.format})` : type);
}

function bodySchema(content) {
  if (!content) return null;
  const [media, value] = Object.entries(content)[0] || [];
  return value ? el('span', {}, el('code', {}, media), ' ', typeOf(value.schema)) : null;
}

function operation(path, method, op) {
  const body = el('div');
  if (op.description) body.append(el('p', {}, op.description));
  if (op.parameters && op.parameters.length) {
    const table = el('table', {}, el('tr', {}, el('th', {}, 'Parameter'), el('th', {}, 'In'), el('th', {}, 'Type'), el('th', {}, 'Description')));
    for (const p of op.parameters) {
      table.append(el('tr', {}, el('td', {}, el('code', {}, p.name + (p.required ? '' : '?'))), el('td', {}, p.in), el('td', {}, typeOf(p.schema)), el('td', {}, p.description || '')));
    }
    body.append(table);
  }
  if (op.requestBody) body.append(el('p', {}, 'Body: ', bodySchema(op.requestBody.content) || ''));
  const responses = el('table', {}, el('tr', {}, el('th', {}, 'Status'), el('th', {}, 'Description'), el('th', {}, 'Body')));
  for (const [status, r] of Object.entries(op.responses || {})) {
    responses.append(el('tr', {}, el('td', {}, el('code', {}, status)), el('td', {}, r.description || ''), el('td', {}, bodySchema(r.content) || '')));
  }
  body.append(responses);
  const summary = el('summary', {}, el('span', { class: 'method ' + method }, method), el('span', { class: 'path' }, path), el('span', { class: 'muted' }, op.summary || ''));
  const details = el('details', { class: 'op', 'data-route': `${method.toUpperCase()} ${path}` }, summary, body);
  details.dataset.text = `${method} ${path} ${op.summary || ''} ${op.description || ''}`.toLowerCase();
  return details;
}

function schemaSection(name, schema) {
  const section = el('div', { class: 'schema', id: 'schema-' + name });
  section.dataset.text = name.toLowerCase();
  section.append(el('h3', {}, name));
  if (schema.description) section.append(el('p', { class: 'muted' }, schema.description));
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  if (Object.keys(props).length) {
    const table = el('table', {}, el('tr', {}, el('th', {}, 'Field'), el('th', {}, 'Type'), el('th', {}, 'Description')));
    for (const [field, s] of Object.entries(props)) {
      table.append(el('tr', {}, el('td', {}, el('code', {}, field + (required.has(field) ? '' : '?'))), el('td', {}, typeOf(s)), el('td', {}, s.description || '')));
    }
    section.append(table);
  } else {
    section.append(el('p', {}, typeOf(schema)));
  }
  return section;
}

async function main() {
  const out = document.getElementById('routes');
  let doc;
  try {
    const reply = await fetch('/api/openapi.json', { credentials: 'same-origin' });
    if (!reply.ok) throw new Error(`GET /api/openapi.json answered ${reply.status}`);
    doc = await reply.json();
  } catch (e) {
    out.replaceChildren(el('p', { role: 'alert' }, `Could not read the API description: ${e.message}`));
    return;
  }
  document.getElementById('title').textContent = `${doc.info.title} ${doc.info.version} — REST API`;
  document.getElementById('description').textContent = doc.info.description || '';
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
  let count = 0;
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch']) {
      const op = item[method];
      if (!op) continue;
      count += 1;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push(operation(path, method, op));
    }
  }
  out.replaceChildren();
  for (const { tag, ops } of byTag.values()) {
    if (!ops.length) continue;
    out.append(el('section', { class: 'tag' }, el('h2', {}, tag.name, ' ', el('span', { class: 'muted' }, tag.description || '')), ...ops));
  }
  const schemas = document.getElementById('schemas');
  for (const [name, schema] of Object.entries((doc.components && doc.components.schemas) || {})) {
    schemas.append(schemaSection(name, schema));
  }
  document.body.dataset.routes = String(count);
  document.getElementById('filter').addEventListener('input', (ev) => {
    const words = ev.target.value.toLowerCase().trim();
    for (const node of document.querySelectorAll('[data-text]')) {
      node.classList.toggle('hidden', words !== '' && !node.dataset.text.includes(words));
    }
  });
}

main();
