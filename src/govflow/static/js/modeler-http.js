// JSON to and from the designer's endpoints. Every POST carries the session's CSRF token; a refusal
// that comes back as a page (403, an expired page, a body too large) is read for its message.

export async function post(url, body, csrf) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    });
  } catch (err) {
    return { ok: false, status: 0, message: '无法连接服务器，请检查网络后重试' };
  }
  return answer(response);
}

export async function get(url) {
  return answer(await fetch(url, { headers: { Accept: 'application/json' } }));
}

async function answer(response) {
  const type = response.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await response.json() : { message: pageMessage(await response.text()) };
  return { ...body, ok: response.ok, status: response.status };
}

function pageMessage(html) {
  const alert = new DOMParser().parseFromString(html, 'text/html').querySelector('[role=alert]');
  return alert ? alert.textContent.trim() : '请求未能完成，请刷新页面后重试';
}
