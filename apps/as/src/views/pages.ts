/** Server-rendered login and consent pages: plain, accessible HTML, no scripts. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · DAuth</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#111}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.25rem;font-size:1rem}
.error{color:#a00;border:1px solid #a00;padding:.5rem}
code{background:#f3f3f3;padding:0 .25rem}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`
}

export interface LoginPageInput {
  action: string
  csrf: string
  clientName: string
  error?: string
  username?: string
}

export function loginPage(input: LoginPageInput): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${escapeHtml(input.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  )
}

export interface ConsentPageInput {
  confirmAction: string
  denyAction: string
  csrf: string
  clientName: string
  resources: { resource: string; scopes: string[] }[]
}

export function consentPage(input: ConsentPageInput): string {
  const resources = input.resources
    .map(
      (r) => `<section>
<h2>Access to <code>${escapeHtml(r.resource)}</code></h2>
<ul>${r.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>
</section>`,
    )
    .join('\n')
  return layout(
    'Authorize',
    `<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks for:</p>
${resources}
<form method="post" action="${escapeHtml(input.confirmAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">Allow</button>
</form>
<form method="post" action="${escapeHtml(input.denyAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit">Deny</button>
</form>`,
  )
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>`)
}
