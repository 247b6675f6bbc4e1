"""The review page (/drawings/<job_id>) and the list page (/drawings): plain HTML and JavaScript.

The page polls the progress API every 2 s while the comparison runs and stops once it is completed
or failed. Each page of the comparison is a card: sheet name, one badge per stage, the overlay and
the summary; clicking an overlay opens it full size between the old and the new page. Images are
fetched with the access token (when the server has one, the page asks for it once and keeps it for
the browser session) and shown from blob URLs, so no token ever goes into a URL.
"""

from __future__ import annotations

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d232b}
header{background:#1d3557;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85;font-size:14px}main{padding:16px 24px}
.summary-bar{display:flex;gap:18px;align-items:center;margin-bottom:14px;flex-wrap:wrap}
.pill{padding:3px 10px;border-radius:12px;font-size:13px;font-weight:600;background:#dde2e8}
.pending{background:#e3e6ea;color:#444}.in_progress{background:#fff1c2;color:#7a5600}
.completed{background:#d4f2dc;color:#17602d}.failed{background:#fbd5d5;color:#8a1c1c}
#cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:12px}
.card h2{font-size:16px;margin:0 0 6px}.card .meta{font-size:12px;color:#5b6570;margin-bottom:6px}
.stages{display:flex;gap:6px;margin-bottom:8px}.stages span{font-size:12px;padding:2px 8px;border-radius:10px}
.overlay{width:100%;min-height:120px;background:#eef0f2;border:1px solid #d5d9de;cursor:zoom-in;display:block}
.summary{white-space:pre-wrap;font-size:13px;margin-top:8px}.error{color:#8a1c1c;font-size:13px}
.legend{font-size:13px}.legend b.r{color:#dc1e1e}.legend b.b{color:#145aeb}.legend b.o{color:#e68a00}
#viewer{position:fixed;inset:0;background:rgba(10,14,20,.92);display:none;z-index:10;overflow:auto}
#viewer.open{display:block}#viewer .bar{color:#fff;padding:10px 16px;display:flex;justify-content:space-between}
#viewer .panes{display:grid;grid-template-columns:1fr 1fr 1fr;gap:8px;padding:0 8px 8px}
#viewer figure{margin:0;color:#fff;font-size:13px}#viewer img{width:100%;background:#fff}
button{cursor:pointer}table{border-collapse:collapse;background:#fff}td,th{padding:6px 10px;border-bottom:1px solid #e3e6ea}
"""

TOKEN_JS = """
function authHeaders(){const t=sessionStorage.getItem('pipelineToken');return t?{'Authorization':'Bearer '+t}:{}}
async function api(url, options){
  options=options||{};
  for(let attempt=0;attempt<2;attempt++){
    const r=await fetch(url,Object.assign({},options,{headers:Object.assign({},options.headers||{},authHeaders())}));
    if(r.status===401&&attempt===0){
      const t=window.prompt('This server needs an access token (PIPELINE_API_TOKEN):');
      if(!t)return r;sessionStorage.setItem('pipelineToken',t.trim());continue}
    return r}
}
const blobs={};
async function imageUrl(url){
  if(blobs[url])return blobs[url];
  const r=await api(url);if(!r.ok)return null;
  blobs[url]=URL.createObjectURL(await r.blob());return blobs[url]}
function el(tag,attrs,text){const e=document.createElement(tag);for(const k in attrs||{})e.setAttribute(k,attrs[k]);
  if(text!==undefined)e.textContent=text;return e}
"""

REVIEW_JS = """
const JOB=document.body.dataset.job;const LABELS={ocr_status:'pages + sheet',diff_status:'diff',summary_status:'summary'};
let polls=0;
function badge(name,status){return el('span',{class:status,'data-stage':name},LABELS[name]+': '+status.replace('_',' '))}
async function render(p){
  document.getElementById('job-status').textContent=p.status.replace('_',' ');
  document.getElementById('job-status').className='pill '+p.status;
  document.getElementById('job-name').textContent=p.name||JOB;
  for(const s of ['ocr','diff','summary']){const c=p.progress[s];
    document.getElementById('count-'+s).textContent=c.completed+'/'+c.total}
  const err=document.getElementById('job-error');err.textContent=p.error||'';
  const cards=document.getElementById('cards');const loads=[];
  for(const page of p.pages){
    let card=document.getElementById('page-'+page.page_number);
    if(!card){card=el('article',{class:'card',id:'page-'+page.page_number});
      card.append(el('h2'),el('div',{class:'meta'}),el('div',{class:'stages'}),
        el('img',{class:'overlay',alt:'overlay not ready yet'}),el('div',{class:'error'}),el('div',{class:'summary'}));
      cards.append(card)}
    for(const k of ['ocr_status','diff_status','summary_status'])card.dataset[k.split('_')[0]]=page[k];
    card.querySelector('h2').textContent=page.page_number+'. '+(page.drawing_name||'');
    const where=page.change_type==='added'?'new sheet (new p.'+page.new_page+')':
      page.change_type==='removed'?'removed sheet (old p.'+page.old_page+')':'old p.'+page.old_page+' ↔ new p.'+page.new_page;
    const dr=page.diff_result;
    card.querySelector('.meta').textContent=where+(dr?' · '+dr.change_count+' change'+(dr.change_count===1?'':'s'):'');
    const st=card.querySelector('.stages');st.replaceChildren(...Object.keys(LABELS).map(k=>badge(k,page[k])));
    card.querySelector('.error').textContent=page.error||'';
    card.querySelector('.summary').textContent=page.summary?page.summary.summary_text:'';
    const img=card.querySelector('img.overlay');
    if(dr&&img.dataset.src!==dr.overlay_url){img.dataset.src=dr.overlay_url;
      loads.push(imageUrl(dr.overlay_url).then(u=>{if(u){img.src=u;
        img.alt='overlay of '+(page.drawing_name||'page '+page.page_number);img.onclick=()=>openViewer(page)}
        else delete img.dataset.src}))}
  }
  await Promise.all(loads);  // every card is on the page before any image is awaited
}
async function openViewer(page){
  const v=document.getElementById('viewer');v.classList.add('open');
  document.getElementById('viewer-title').textContent=page.page_number+'. '+(page.drawing_name||'');
  const panes=[['old',page.old_image_url],['overlay',page.diff_result&&page.diff_result.overlay_url],['new',page.new_image_url]];
  for(const [name,url] of panes){const img=document.getElementById('full-'+name);
    img.removeAttribute('src');img.alt=url?'loading':'not in this revision';if(url){const u=await imageUrl(url);if(u)img.src=u}}
}
function closeViewer(){document.getElementById('viewer').classList.remove('open')}
document.addEventListener('keydown',e=>{if(e.key==='Escape')closeViewer()});
async function poll(){
  let done=false;
  try{const r=await api('/api/v1/jobs/'+JOB+'/progress');
    if(r.ok){const p=await r.json();await render(p);done=(p.status==='completed'||p.status==='failed')}
    else{const b=await r.json().catch(()=>({error:r.statusText}));document.getElementById('job-error').textContent=b.error||r.statusText}
  }catch(e){document.getElementById('job-error').textContent='cannot reach the server: '+e}
  polls++;document.body.dataset.polls=polls;document.body.dataset.done=done?'yes':'no';
  if(!done)setTimeout(poll,2000)}
poll();
"""


def review_html(job_id: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Drawing comparison {job_id}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body data-job="{job_id}" data-polls="0" data-done="no">
<header><h1>Drawing comparison: <span id="job-name">{job_id}</span></h1>
<p><a href="/drawings" style="color:#cfe3ff">all comparisons</a> · job {job_id}</p></header>
<main>
<div class="summary-bar"><span>status <span id="job-status" class="pill pending">loading</span></span>
<span>pages + sheet names <b id="count-ocr">–</b></span><span>diffs <b id="count-diff">–</b></span>
<span>summaries <b id="count-summary">–</b></span>
<span class="legend"><b class="r">red</b> removed · <b class="b">blue</b> added · <b class="o">orange</b> boxes = changes</span></div>
<div id="job-error" class="error"></div>
<section id="cards"></section>
</main>
<div id="viewer" role="dialog" aria-label="full size comparison"><div class="bar"><b id="viewer-title"></b>
<button onclick="closeViewer()">close (Esc)</button></div>
<div class="panes"><figure><figcaption>old</figcaption><img id="full-old" alt=""></figure>
<figure><figcaption>overlay</figcaption><img id="full-overlay" alt=""></figure>
<figure><figcaption>new</figcaption><img id="full-new" alt=""></figure></div></div>
<script>{TOKEN_JS}{REVIEW_JS}</script>
</body></html>"""


INDEX_JS = """
async function load(){
  const r=await api('/api/v1/jobs');const body=document.getElementById('jobs');
  if(!r.ok){body.textContent='cannot list comparisons';return}
  const data=await r.json();body.replaceChildren();
  for(const j of data.jobs){const tr=el('tr');const a=el('a',{href:j.review_url},j.name||j.job_id);
    const td=el('td');td.append(a);tr.append(td,el('td',{class:j.status},j.status),el('td',{},j.total_pages??''),
    el('td',{},j.error||''));body.append(tr)}
}
document.getElementById('upload').addEventListener('submit',async e=>{e.preventDefault();
  const form=new FormData(e.target);const name=form.get('name');form.delete('name');
  const r=await api('/api/v1/jobs'+(name?'?name='+encodeURIComponent(name):''),{method:'POST',body:form});
  const b=await r.json();if(r.ok)location.href=b.review_url;else document.getElementById('msg').textContent=b.error});
load();
"""


def index_html() -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Drawing comparisons</title><style>{STYLE}</style></head>
<body><header><h1>Drawing comparisons</h1><p>Compare two revisions of a drawing set, page by page.</p></header>
<main><form id="upload"><label>old set <input type="file" name="old" accept="application/pdf" required></label>
<label>new set <input type="file" name="new" accept="application/pdf" required></label>
<label>name <input type="text" name="name" placeholder="optional"></label> <button>compare</button>
<span id="msg" class="error"></span></form><br>
<table><thead><tr><th>comparison</th><th>status</th><th>pages</th><th>note</th></tr></thead><tbody id="jobs"></tbody></table>
</main><script>{TOKEN_JS}{INDEX_JS}</script></body></html>"""
