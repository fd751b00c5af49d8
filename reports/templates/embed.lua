--[[
embed.lua: the report's own figures, and nothing else, go into the self-contained HTML.

pandoc runs with --sandbox, so it reads no file itself; this filter reads each image
of the report (a PNG, JPEG or SVG file by a relative path inside the render folder,
pandoc's working directory: figures/<chapter>/...) into the media bag, from which
--embed-resources takes it. Any other image (an absolute path, "..", a URL, another
type) is an error: the report's notebooks never make one, so it would come from data.
]]

local function read(path)
  local handle = io.open(path, "rb")
  if handle == nil then error("the report's figure " .. path .. " is missing") end
  local data = handle:read("a")
  handle:close()
  return data
end

local TYPES = { png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", svg = "image/svg+xml" }

function Image(img)
  local src = img.src
  local ext = src:match("^[%w][%w%-_/%.]*%.(%a+)$")
  if ext == nil or TYPES[ext:lower()] == nil or src:find("..", 1, true) then
    error("image outside the report's figures: " .. src:sub(1, 80))
  end
  pandoc.mediabag.insert(src, TYPES[ext:lower()], read(src))
  return img
end
