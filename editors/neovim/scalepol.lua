-- scalepol for Neovim 0.7 or newer: `.scalepol` files get the `scalepol`
-- filetype and the `scalepol lsp` language server. Put this file in
-- ~/.config/nvim/plugin/ (or `dofile` it from init.lua). It uses the
-- newest API the running Neovim has:
--   0.11+     vim.lsp.config + vim.lsp.enable
--   0.8-0.10  vim.lsp.start from a FileType autocommand
--   0.7       vim.lsp.start_client once, vim.lsp.buf_attach_client per buffer
-- The server is `scalepol` on PATH; set vim.g.scalepol_cmd to a list to
-- run another (for example { "/opt/scalepol/bin/scalepol", "lsp" }).

local cmd = vim.g.scalepol_cmd or { "scalepol", "lsp" }
local markers = { ".git", "policies" }

-- Filetype detection that every version understands.
vim.cmd([[
  augroup scalepol_filetype
    autocmd!
    autocmd BufRead,BufNewFile *.scalepol setfiletype scalepol
  augroup END
]])

-- The project's root: the nearest directory holding a marker, else the
-- file's own directory.
local function root_of(bufnr)
  local file = vim.api.nvim_buf_get_name(bufnr)
  local dir = vim.fn.fnamemodify(file, ":p:h")
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(markers, { path = dir, upward = true })[1]
    if found then
      return vim.fs.dirname(found)
    end
  end
  return dir
end

if vim.lsp.config and vim.lsp.enable then
  vim.lsp.config("scalepol", {
    cmd = cmd,
    filetypes = { "scalepol" },
    root_markers = markers,
  })
  vim.lsp.enable("scalepol")
  return
end

local client_id = nil
vim.api.nvim_create_autocmd("FileType", {
  pattern = "scalepol",
  callback = function(args)
    if vim.lsp.start then
      vim.lsp.start({ name = "scalepol", cmd = cmd, root_dir = root_of(args.buf) })
      return
    end
    if not client_id then
      client_id = vim.lsp.start_client({ name = "scalepol", cmd = cmd, root_dir = root_of(args.buf) })
    end
    if client_id then
      vim.lsp.buf_attach_client(args.buf, client_id)
    end
  end,
})
