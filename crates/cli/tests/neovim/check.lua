-- Drives a real headless Neovim through the documented configuration
-- (editors/neovim/scalepol.lua): the server attaches to a .scalepol buffer,
-- publishes a diagnostic, clears it after an edit, answers hover and
-- completion. Writes "ok: ..." or "fail: ..." to $SCALEPOL_NVIM_OUT.

local out = os.getenv("SCALEPOL_NVIM_OUT")

local function finish(ok, msg)
  local f = assert(io.open(out, "w"))
  f:write((ok and "ok: " or "fail: ") .. msg .. "\n")
  f:close()
  vim.cmd(ok and "qall!" or "cquit!")
end

local function clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = 0 })
  end
  local list = {}
  for _, c in pairs(vim.lsp.buf_get_clients(0)) do
    table.insert(list, c)
  end
  return list
end

local function request(method, line, character)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    position = { line = line, character = character },
  }
  local answers = vim.lsp.buf_request_sync(0, method, params, 10000) or {}
  for _, a in pairs(answers) do
    if a.result then
      return a.result
    end
  end
  return nil
end

local function run()
  assert(vim.bo.filetype == "scalepol", "filetype is '" .. vim.bo.filetype .. "'")
  assert(vim.wait(15000, function() return #clients() > 0 end, 50), "the server did not attach")
  -- The file scales on `queu`, a metric it does not declare.
  assert(vim.wait(15000, function() return #vim.diagnostic.get(0) > 0 end, 50), "no diagnostic")
  local d = vim.diagnostic.get(0)[1]
  assert(d.message:find("queu", 1, true), "unexpected diagnostic: " .. d.message)
  -- Fix it in the buffer (not on disk): the diagnostic goes.
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  for i, l in ipairs(lines) do
    if l:find("on queu ", 1, true) then
      vim.api.nvim_buf_set_lines(0, i - 1, i, false, { (l:gsub("on queu ", "on queue ")) })
    end
  end
  if not vim.wait(15000, function() return #vim.diagnostic.get(0) == 0 end, 50) then
    error("the diagnostic stayed after the edit: " .. vim.diagnostic.get(0)[1].message)
  end
  -- Hover on `replicas` (line 4, 0-based 3).
  local hover = request("textDocument/hover", 3, 5)
  assert(hover and hover.contents, "no hover")
  local text = type(hover.contents) == "table" and (hover.contents.value or vim.inspect(hover.contents)) or hover.contents
  assert(text:find("replica", 1, true), "hover says: " .. text)
  -- Completion on the empty line inside the pool block (line 5, 0-based 4).
  local items = request("textDocument/completion", 4, 4)
  items = items and (items.items or items) or {}
  local labels = {}
  for _, it in ipairs(items) do
    labels[it.label] = true
  end
  assert(labels["warmup"] and labels["capacity"], "completion offered: " .. vim.inspect(vim.tbl_keys(labels)))
  return "attached, diagnosed, re-diagnosed after an edit, hovered, completed"
end

local ok, msg = pcall(run)
finish(ok, tostring(msg))
