# escape=`
FROM mcr.microsoft.com/dotnet/sdk:8.0-windowsservercore-ltsc2022 AS build
WORKDIR C:\src
COPY *.csproj .\
RUN dotnet restore
COPY . .
RUN dotnet publish -c Release -o C:\out `
    --no-restore `
    /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022
WORKDIR C:\app
COPY --from=build C:\out .
USER ContainerUser
ENTRYPOINT ["dotnet", "Web.dll"]
