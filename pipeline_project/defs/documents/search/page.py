"""The search page (/documents/search): a box, a mode, and hits with their matched words marked.

Hits are built with textContent and <mark> elements from the API's highlight offsets, so text from
documents is never parsed as HTML. The query is kept in the address (?q=&mode=), so a search can be shared.
"""

from __future__ import annotations

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d232b}
header{background:#1d232b;color:#fff;padding:12px 24px;font-size:18px}main{max-width:960px;margin:0 auto;padding:16px 24px}
form{display:flex;gap:8px;margin-bottom:16px}input[type=search]{flex:1;font-size:16px;padding:8px}
select,button{font-size:15px;padding:6px 10px}.hit{background:#fff;border-radius:6px;padding:12px 16px;margin:10px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}.meta{font-size:13px;color:#55606e;margin-bottom:6px}
.meta a{color:#1b5fb4}.source{font-weight:600;color:#1d232b}mark{background:#ffe27a;padding:0 1px}
#status{font-size:13px;color:#55606e}
"""

SEARCH_JS = """
function node(tag,attrs,text){const e=document.createElement(tag);for(const k in attrs||{})e.setAttribute(k,attrs[k]);
  if(text!==undefined)e.textContent=text;return e}
function marked(snippet,spans){const p=node('div',{'class':'snippet'});let last=0;
  for(const [s,e] of spans){p.append(snippet.slice(last,s));p.append(node('mark',{},snippet.slice(s,e)));last=e}
  p.append(snippet.slice(last));return p}
async function run(q,mode){
  const status=document.getElementById('status'),list=document.getElementById('hits');list.textContent='';
  if(!q.trim()){status.textContent='';return}
  status.textContent='searching…';
  const r=await api('/api/v1/documents/search?'+new URLSearchParams({q:q,mode:mode,k:10}));
  const body=await r.json();
  if(!r.ok){status.textContent=body.error||('error '+r.status);return}
  status.textContent=body.hits.length+' hits, '+mode+' search, '+Math.round(body.seconds*1000)+' ms';
  for(const h of body.hits){
    const card=node('div',{'class':'hit'}),meta=node('div',{'class':'meta'});
    const src=h.url?node('a',{'href':h.url,'rel':'noopener noreferrer','class':'source'},h.url):node('span',{'class':'source'},h.source_file);
    meta.append(src,' · page '+h.page+' · doc '+h.doc_id.slice(0,12)+' · score '+h.score.toFixed(4));
    card.append(meta,marked(h.snippet,h.highlights));list.append(card)}
}
const form=document.getElementById('search');
form.addEventListener('submit',ev=>{ev.preventDefault();const q=form.q.value,mode=form.mode.value;
  history.replaceState(null,'','?'+new URLSearchParams({q:q,mode:mode}));run(q,mode)});
const params=new URLSearchParams(location.search);
if(params.get('q')){form.q.value=params.get('q');form.mode.value=params.get('mode')||'hybrid';run(form.q.value,form.mode.value)}
"""


def search_html() -> str:
    from pipeline_project.defs.drawings.review_page import TOKEN_JS  # the shared token prompt

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Search documents</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body><header>Search documents</header><main>
<form id="search"><input type="search" name="q" placeholder="a line from a page, a name, or a question" autofocus>
<select name="mode"><option value="hybrid">words + meaning</option><option value="lexical">exact words</option>
<option value="vector">meaning</option></select><button type="submit">Search</button></form>
<div id="status"></div><div id="hits"></div>
</main><script>{TOKEN_JS}{SEARCH_JS}</script></body></html>"""
